from pathlib import Path

import numpy as np
import pytest

from apps.agents.offline.learned_classifier import precision_threshold
from apps.agents.routing.classifier import load_examples
from apps.agents.understanding import intents as intents_module
from apps.agents.understanding.intents import (
    EXAMPLES_DIR,
    HELDOUT_DIR,
    IntentClassifier,
    IntentExample,
    detect_intent,
    load_intent_examples,
    load_or_train,
    prepare,
)

EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*.yaml"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("👍", "yes"),
        ("ok 👌🏽", "ok ok"),
        ("❌ no", "no no"),
        ("where is TW-100234?", "where is order number ?"),
        ("  ", ""),
    ],
)
def test_prepare_reads_emoji_as_words_and_masks_order_numbers(text, expected):
    assert prepare(text) == expected


def test_every_example_file_has_a_held_out_fifth_that_never_appears_in_training():
    # given (the routing boundary's held-out fifth is checked against the router's own examples below)
    assert [p.name for p in EXAMPLE_FILES] == sorted(
        p.name for p in HELDOUT_DIR.glob("*.yaml") if p.stem not in {"routing", "task"}
    )
    for path in EXAMPLE_FILES:
        training = load_intent_examples(path)
        heldout = load_intent_examples(HELDOUT_DIR / path.name)
        # then: the same intents, no message in both, about a fifth held out
        assert {e.intent for e in heldout.examples} == {e.intent for e in training.examples}
        assert not {e.text.lower() for e in heldout.examples} & {e.text.lower() for e in training.examples}
        share = len(heldout.examples) / (len(heldout.examples) + len(training.examples))
        assert 0.15 <= share <= 0.25, path.name


def test_the_routing_boundary_held_out_fifth_never_appears_in_the_routers_training():
    # given the router's training examples and the boundary set's held-out fifth
    training = {e.text.lower() for e in load_examples()}
    heldout = load_intent_examples(HELDOUT_DIR / "routing.yaml").examples

    # then no held-out message is trained on, and every route is represented
    assert not {e.text.lower() for e in heldout} & training
    assert {e.intent for e in heldout} == {"order", "returns", "billing", "faq", "human", "out_of_scope"}


def test_precision_threshold_keeps_the_most_predictions_at_the_precision_asked():
    # given confidences (best first: right, right, wrong, right, wrong)
    confidences = np.array([0.99, 0.95, 0.9, 0.8, 0.5])
    correct = np.array([True, True, False, True, False])
    # then
    assert precision_threshold(confidences, correct, 0.75) == 0.8  # 3 of 4 kept are right
    assert precision_threshold(confidences, correct, 1.0) == 0.95
    assert precision_threshold(confidences, np.array([False] * 5), 0.9) == 0.99  # nothing is good enough


def test_a_classifier_needs_two_intents():
    with pytest.raises(ValueError, match="at least two intents"):
        IntentClassifier.train([IntentExample("a", "x"), IntentExample("b", "x")], name="one")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("specialist", "text", "intent"),
    [
        ("order", "wheres my backpack?? its been forever", "track"),
        ("order", "how long does shipping usually take", "delivery_time"),
        ("returns", "I want to return the jacket from my last order", "start_return"),
        ("returns", "what is your return policy?", "return_policy"),
        ("returns", "what's the status on my skillet refund, you got it a week ago", "refund_status"),
        ("returns", "is there a warranty?", "warranty"),
        (
            "returns",
            "hi my espreso machine came 3 days ago and it leaks water everywere, what do i do??",
            "damaged_item",
        ),
        ("returns", "can I get a refund?", "refund_request"),
        ("billing", "my card expires this month, will my order still go through?", "card_expiry"),
        ("billing", "can you email me the invoice for TW-100004?", "send_invoice"),
    ],
)
def test_the_issue_messages_get_their_intent(specialist, text, intent):
    prediction = detect_intent(specialist, text)
    assert prediction.intent == intent


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_held_out_accuracy_stays_above_its_floor(path):
    # given a classifier trained on the training file only
    classifier = intents_module.train_file(path)
    heldout = load_intent_examples(HELDOUT_DIR / path.name).examples
    # when
    predictions = classifier.predict([e.text for e in heldout])
    # then: a floor under the figures reported by bench/bench_understanding.py (never tuned on these)
    accuracy = sum(p.best == e.intent for p, e in zip(predictions, heldout, strict=True)) / len(heldout)
    assert accuracy >= {"routing": 0.4}.get(path.stem, 0.8), f"{path.stem}: {accuracy:.3f}"
    assert classifier.report.oof_accuracy >= {"routing": 0.5}.get(path.stem, 0.8)


@pytest.mark.slow
def test_confirmation_keeps_only_predictions_right_98_percent_of_the_time():
    classifier = intents_module.get_intent_classifier("confirmation")
    assert classifier.report.oof_accuracy_kept >= 0.98
    assert round(classifier.threshold, 4) == classifier.report.threshold


@pytest.mark.slow
def test_load_or_train_caches_on_disk_and_retrains_a_corrupt_cache(tmp_path: Path, monkeypatch):
    # given a small example file
    examples = tmp_path / "tiny.yaml"
    examples.write_text(
        "specialist: tiny\nintents:\n  greet: [hello, hi there, good morning, hey]\n"
        "  bye: [goodbye, see you, bye bye, later]\n",
        encoding="utf-8",
    )
    cache = tmp_path / "cache"
    # when trained once
    first = load_or_train(examples, cache_dir=cache)
    files = list(cache.glob("intents-tiny-*.pickle"))
    # then it is cached, and the next load does not train
    assert len(files) == 1
    monkeypatch.setattr(intents_module, "train_file", lambda *a, **k: pytest.fail("retrained"))
    second = load_or_train(examples, cache_dir=cache)
    assert second.report.digest == first.report.digest
    assert second.classes == ["bye", "greet"]
    # when the cache is corrupt it is retrained, never fatal
    files[0].write_bytes(b"not a pickle")
    monkeypatch.undo()
    third = load_or_train(examples, cache_dir=cache)
    assert third.report.digest == first.report.digest
    assert third.predict_one("hello").best == "greet"
