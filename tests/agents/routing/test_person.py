from pathlib import Path

import pytest
import yaml

from apps.agents.routes import ROUTES
from apps.agents.routing import route_message
from apps.agents.routing.classifier import Prediction, load_examples
from apps.agents.routing.person import clauses, person_requested

HELDOUT = Path(__file__).parents[3] / "apps/agents/routing/heldout.yaml"
BOUNDARIES = HELDOUT.with_name("heldout_boundaries.yaml")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("put me through to someone about the jacket", ["put me through to someone", "the jacket"]),
        ("where is my order? actually, get me a person", ["where is my order", "get me a person"]),
        ("need a human regarding TW-100004, thanks", ["need a human", "TW-100004", "thanks"]),
        ("where is my order", []),
        ("?!", []),
    ],
)
def test_clauses_cut_at_sentence_ends_commas_and_topic_joiners(text, expected):
    assert clauses(text) == expected


def _prediction(route: str, confidence: float, *, asks_for_person: bool = False) -> Prediction:
    return Prediction(
        route=route,
        confidence=confidence,
        probabilities={route: confidence},
        similarity=0.9,
        reason=f"classifier: {route} p={confidence:.2f}",
        asks_for_person=asks_for_person,
    )


def test_an_unsure_human_verdict_is_read_clause_by_clause():
    # given a message the classifier reads as human, but below the clause confidence
    text = "wait can i talk to a real person about the payment"
    unsure = _prediction("human", 0.55, asks_for_person=True)
    verdicts = {
        "wait can i talk to a real person": _prediction("human", 0.99, asks_for_person=True),
        "the payment": _prediction("billing", 0.99),
    }
    asked: list[list[str]] = []

    def predict(texts: list[str]) -> list[Prediction]:
        asked.append(texts)
        return [verdicts[t] for t in texts]

    # when the clauses are read
    [settled] = person_requested([text], [unsure], predict)

    # then the clause asking for a person decides, with its confidence
    assert asked == [["wait can i talk to a real person", "the payment"]]
    assert settled.route == "human"
    assert settled.confidence == 0.99
    assert settled.reason == "asks for a person: 'wait can i talk to a real person' (human p=0.99)"


def test_a_sure_human_verdict_is_not_read_again():
    # given a message the classifier is sure asks for a person
    sure = _prediction("human", 0.97, asks_for_person=True)
    asked: list[list[str]] = []

    # when the clauses would be read
    result = person_requested(["get me a person, about my order"], [sure], lambda t: asked.append(t) or [])

    # then no clause is classified and the verdict stands
    assert asked == []
    assert result == [sure]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "sticky"),
    [
        ("could i talk to an actual person regarding the refund for my boots", None),
        ("is my parcel lost? honestly just connect me to a human", None),
        ("i'd like a real agent because the invoice you sent is wrong", "billing"),
        ("this bot again. person please, about cancelling TW-100001", "order"),
    ],
)
def test_a_request_for_a_person_beats_the_topic_words(text, sticky):
    # when a message asks for a person and names a topic a specialist owns
    decision = route_message(text, sticky_route=sticky, llm_router=None)

    # then the customer gets a person
    assert decision.route == "human"
    assert decision.source == "local"


@pytest.mark.slow
def test_a_person_clause_decides_when_the_whole_message_reads_as_its_topic():
    decision = route_message("could i talk to an actual person regarding the refund for my boots", llm_router=None)

    assert decision.route == "human"
    assert decision.reason == "asks for a person: 'could i talk to an actual person' (human p=1.00)"
    assert decision.confidence >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize(
    ("text", "route"),
    [
        ("i'd like to leave a review about your service", "faq"),
        ("where is my refund? it has been two weeks, regarding the boots", "returns"),
        ("cancel the order please, actually the one from yesterday", "order"),
    ],
)
def test_a_topic_without_a_request_for_a_person_keeps_its_specialist(text, route):
    decision = route_message(text, llm_router=None)

    assert decision.route == route
    assert not decision.reason.startswith("asks for a person")


def test_the_routers_held_out_fifth_is_never_trained_on():
    # given the router's training examples and its held-out fifth
    training = {e.text.lower() for e in load_examples()}
    heldout = yaml.safe_load(HELDOUT.read_text())["routes"]

    # then no held-out message is in the training, and every route is held out
    assert set(heldout) == set(ROUTES)
    assert not {str(t).lower() for texts in heldout.values() for t in texts} & training
    assert sum(len(texts) for texts in heldout.values()) >= 100


def test_the_routers_held_out_boundaries_are_never_trained_on():
    # given the router's training examples and its held-out boundary messages (languages, capitals, tasks)
    training = {e.text.lower() for e in load_examples()}
    heldout = yaml.safe_load(BOUNDARIES.read_text())["routes"]

    # then none is trained on, and every route is held out
    assert set(heldout) == set(ROUTES)
    assert not {str(t).lower() for texts in heldout.values() for t in texts} & training
    assert sum(len(texts) for texts in heldout.values()) >= 60
