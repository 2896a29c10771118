"""A turn's texts are embedded in one batch before its readers run (apps.agents.understanding.prefetch)."""

from __future__ import annotations

import pytest

from apps.agents.offline import embedder
from apps.agents.offline.learned_classifier import normalise
from apps.agents.routing.classifier import get_classifier
from apps.agents.routing.router import settle_predictions
from apps.agents.routing.tasks import without_product_nouns
from apps.agents.understanding import intents
from apps.agents.understanding.planner import plan_message
from apps.agents.understanding.prefetch import prefetch_turn_embeddings, turn_texts
from apps.agents.understanding.splitter import feature_texts, get_splitter
from apps.guardrails import conf as guardrail_conf
from apps.guardrails.detection import detect_injection, injection_embedding_texts
from apps.guardrails.detector import model as detector
from apps.guardrails.text import clean


@pytest.fixture
def encodes(monkeypatch, settings):  # type: ignore[no-untyped-def]
    """The real model, loaded; every encode it runs from here on is recorded; no text remembered."""
    settings.GUARDRAILS_INJECTION_DETECTOR = "learned"
    get_classifier()
    for name in intents.SPECIALISTS:
        intents.get_intent_classifier(name)
    get_splitter()
    calls: list[list[str]] = []
    real = embedder._encode

    def spy(texts: list[str], *, batch_size: int):  # type: ignore[no-untyped-def]
        calls.append(list(texts))
        return real(texts, batch_size=batch_size)

    monkeypatch.setattr(embedder, "_encode", spy)
    monkeypatch.setattr(embedder, "_recent", embedder.OrderedDict())
    monkeypatch.setattr(intents, "_vectors", {})
    detector.learned_score.cache_clear()
    yield calls
    detector.learned_score.cache_clear()


def _read(text: str) -> None:
    """What a turn's readers embed for a customer message: the detector, the router (the message, then each
    clause, looking for a request for a person), the planner, the intents."""
    cleaned = clean(text)
    detect_injection(cleaned.text, hidden_text=cleaned.hidden_text, cfg=guardrail_conf.current())
    settle_predictions([text], get_classifier().predict([text]))  # the router, with its look at each clause
    plan_message(text)
    intents.get_intent_classifier("order").predict_one(text)


@pytest.mark.parametrize(
    "text",
    [
        "Where is my order TW-100234?",
        "Where is my order TW-100234? Also can I return the jacket from it?",
        "Hi, could someone look at my order TW-100234, it never came",
    ],
)
def test_after_the_prefetch_the_readers_of_a_message_encode_nothing_more(encodes, text):
    # given a message nobody has embedded yet
    # when the turn prefetches its texts and the readers then read it
    prefetch_turn_embeddings(text)
    _read(text)
    # then the model ran once, on the prefetched texts
    assert encodes == [turn_texts(text)]


def test_without_the_prefetch_the_same_readers_encode_several_times(encodes):
    # given a message nobody has embedded yet
    text = "Where is my order TW-100234? Also can I return the jacket from it?"
    # when the readers read it on their own
    _read(text)
    # then the model ran once per reader that had something new: the detector (the message and each of its
    # sentences), the router, its clauses, the planner (its steps: the second without its opening "Also"), and the
    # router's task gate after each, on those of its texts that name a product (made neutral); the request splitter
    # reads each of the regex's pieces by the windows around its candidate places (whole pieces among them: the
    # planner's steps then encode nothing new)
    pieces = ["Where is my order TW-100234?", "can I return the jacket from it?"]
    assert encodes == [
        detector.views(text),
        [normalise(text)],
        [without_product_nouns(normalise(text))],
        [normalise("Where is my order TW-100234"), normalise("Also can I return the jacket from it")],
        [normalise("Also can I return the item from it")],
        feature_texts("Where is my order TW-100234?"),
        # the second piece's windows, those not read already
        ["can", "can I", "I return the jacket from it?", "return the jacket from it?", normalise(pieces[1])],
        [normalise("can I return the item from it?")],
    ]
    assert normalise("Also can I return the jacket from it?") in detector.views(text)


def test_a_failing_model_does_not_fail_the_prefetch(monkeypatch, caplog):
    # given a model that fails
    def broken(texts: list[str], *, batch_size: int):  # type: ignore[no-untyped-def]
        raise RuntimeError("model gone")

    monkeypatch.setattr(embedder, "_encode", broken)
    monkeypatch.setattr(embedder, "_recent", embedder.OrderedDict())
    # when the turn prefetches
    with caplog.at_level("WARNING", logger="apps.agents.understanding.prefetch"):
        prefetch_turn_embeddings("where is my order?")
    # then it logged the failure, raised nothing, and remembered nothing
    assert [r.getMessage() for r in caplog.records] == [
        "embedding the turn's texts in one batch failed; each reader embeds its own"
    ]
    assert len(embedder._recent) == 0


def test_a_long_message_leaves_the_choice_of_views_to_the_detector(settings):
    # given the learned detector, a short message and a long one (more views than the detector embeds)
    settings.GUARDRAILS_INJECTION_DETECTOR = "learned"
    cfg = guardrail_conf.current()
    short = "Where is my order TW-100234?"
    long = " ".join(f"I ordered a blue jacket on day {i} and it still has not arrived at my house." for i in range(12))
    # when the turn lists the detector's texts
    short_texts = injection_embedding_texts(short, cfg=cfg)
    long_texts = injection_embedding_texts(long, cfg=cfg)
    # then the short message's views are prefetched and none of the long one's (the detector picks its three)
    assert short_texts == detector.views(short)
    assert len(detector.views(long)) > detector.EMBED_VIEWS
    assert long_texts == []
