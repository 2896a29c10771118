"""A customer who asks for a person gets a person, whatever else the message says.

"can i speak to a human about my refund" reads as a refund question to a classifier of the whole
message: the topic words outweigh the request. So the message is also read clause by clause (cut at
sentence ends, commas and the words that join a request to its topic: "about", "regarding",
"because", "but", "actually"...), and a clause the same learned classifier reads as `human` with high
confidence, that the learned `human` intents read as a request for a person rather than a complaint or a
question about how to reach the shop (`Prediction.asks_for_person`), decides the route. A complaint clause
("worst service ever") does not: the specialist with the topic answers it and escalates on its own. No list
of person words: what asks for a person is what the examples say.

A message routed `human` that asks how to reach the shop ("is there a phone number?", "whats ur email, are
people working on saturdays?", "who deals with complaints?") is the help center's to answer: the contact page
says how to write, when people work and how to get one (`help_center_or_person`, applied by the turn). The
router leaves such questions `human` (the public routing data counts them so); the learned `human` intent
`contact_question` (`understanding/examples/human.yaml`) tells them from a request for a person, and an
unclear reading hands over to a person as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace

from apps.agents.routes import HUMAN, RouteDecision
from apps.agents.routing.classifier import HUMAN_INTENTS, Prediction
from apps.agents.understanding.intents import detect_intent
from apps.agents.understanding.language import read_message

CONTACT_INTENT = "contact_question"
# The route that answers a question about how to reach the shop: the help center's contact page.
CONTACT_ROUTE = "faq"

# A clause must be this surely `human` (and ask for a person) to outweigh the whole message.
PERSON_CLAUSE_CONFIDENCE = 0.95
_MAX_CLAUSES = 6
_CLAUSE_BREAK_RE = re.compile(
    r"[.!?;:]+(?:\s|$)|,|\s-\s|\b(?:about|regarding|concerning|because|since|but|actually|instead)\b",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"[a-z]+", re.IGNORECASE)


def clauses(text: str) -> list[str]:
    """The parts of `text` between clause breaks that hold at least one word; [] for a single clause."""
    parts = [p.strip() for p in _CLAUSE_BREAK_RE.split(text)]
    parts = [p for p in parts if _WORD_RE.search(p)]
    return parts if 1 < len(parts) <= _MAX_CLAUSES else []


def _surely_human(prediction: Prediction) -> bool:
    return prediction.route == HUMAN and prediction.confidence >= PERSON_CLAUSE_CONFIDENCE


def person_requested(
    texts: Sequence[str], predictions: Sequence[Prediction], predict: Callable[[list[str]], list[Prediction]]
) -> list[Prediction]:
    """`predictions` with each one not already surely `human` replaced by `human` when one of its clauses surely is.

    A message read as `human` below `PERSON_CLAUSE_CONFIDENCE` is read clause by clause too: unsure of the whole,
    the router would keep the current topic, and the request for a person in one clause would be lost.

    `predict` classifies texts (the route classifier's raw predictions); all clauses go in one call.
    """
    pieces: list[tuple[int, str]] = []
    for index, (text, prediction) in enumerate(zip(texts, predictions, strict=True)):
        if not _surely_human(prediction):
            pieces.extend((index, clause) for clause in clauses(text))
    if not pieces:
        return list(predictions)
    result = list(predictions)
    for (index, clause), verdict in zip(pieces, predict([c for _, c in pieces]), strict=True):
        if (
            verdict.route == HUMAN
            and verdict.asks_for_person
            and verdict.confidence >= PERSON_CLAUSE_CONFIDENCE
            and not _surely_human(result[index])
        ):
            result[index] = replace(
                result[index],
                route=HUMAN,
                task=False,
                confidence=verdict.confidence,
                reason=f"asks for a person: {clause[:60]!r} (human p={verdict.confidence:.2f})",
            )
    return result


def asks_how_to_reach(text: str) -> bool:
    """The learned `human` intents read the message as a question about how to reach the shop (sure of it)."""
    return detect_intent(HUMAN_INTENTS, read_message(text).english).intent == CONTACT_INTENT


def reaches_help_center(route: str, text: str) -> bool:
    """A message (or a piece of one) the router sent to `human` that asks how to reach us: the help center answers."""
    return route == HUMAN and asks_how_to_reach(text)


def help_center_or_person(decision: RouteDecision, text: str) -> RouteDecision:
    """The turn's route for a message the router sent to `human`: the help center when it asks how to reach us."""
    if not reaches_help_center(decision.route, text):
        return decision
    return RouteDecision(
        CONTACT_ROUTE,
        decision.confidence,
        decision.source,
        f"asks how to reach us: the help center answers ({decision.reason})",
    )
