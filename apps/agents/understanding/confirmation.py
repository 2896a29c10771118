"""One learned yes / no / unclear reader for the customer's answer to the assistant's own question.

A classifier (`examples/confirmation.yaml`, the same embeddings and calibration
as the intent classifiers, kept only where the folds are right 98% of the time)
reads sentence forms and emoji: "ok yes", "sure go ahead", "👍" confirm; "no,
wait, keep it", "actually don't", "👎" decline. A yes runs a write, so a yes
with a condition ("yes but only the hoodie", "ok, except the socks") is never
taken as a yes: it is unclear, and the assistant asks again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from apps.agents.understanding.intents import get_intent_classifier

CLASSIFIER = "confirmation"
# A condition or a change attached to an answer: the customer has not simply agreed.
_CONDITION_RE = re.compile(r"\b(?:but|except|only if|unless|instead|however|as long as|provided)\b", re.I)


class Confirmation(StrEnum):
    YES = "yes"
    NO = "no"
    UNCLEAR = "unclear"


@dataclass(frozen=True)
class ConfirmationReading:
    value: Confirmation
    confidence: float
    reason: str


def read_confirmation(text: str) -> ConfirmationReading:
    """The customer's answer with the classifier's confidence and why (for the trace)."""
    if not text.strip():
        return ConfirmationReading(Confirmation.UNCLEAR, 1.0, "empty")
    prediction = get_intent_classifier(CLASSIFIER).predict_one(text)
    if prediction.intent is None:
        return ConfirmationReading(
            Confirmation.UNCLEAR,
            prediction.confidence,
            f"below threshold ({prediction.best} p={prediction.confidence})",
        )
    value = Confirmation(prediction.intent)
    if value is Confirmation.YES and _CONDITION_RE.search(text):
        return ConfirmationReading(Confirmation.UNCLEAR, prediction.confidence, "yes with a condition")
    return ConfirmationReading(value, prediction.confidence, f"classifier: {value} p={prediction.confidence}")


def classify_confirmation(text: str) -> Confirmation:
    """yes / no / unclear for an answer to a yes/no question the assistant asked."""
    return read_confirmation(text).value


_WORD_RE = re.compile(r"[a-z']+")
_YES_WORDS = frozenset({"yes", "yeah", "yep", "yup", "ya", "sure", "ok", "okay", "y"})
_NO_WORDS = frozenset({"no", "nope", "nah", "don't", "dont", "n"})
# Verbs of a request of its own: a yes that adds one ("yes, cancel it and refund me") asks for more than the yes.
_REQUEST_VERBS = frozenset({"refund", "return", "exchange", "track", "send", "email", "change", "update", "cancel"})
_PERSON_WORDS = frozenset({"human", "person", "agent", "someone", "somebody", "manager", "representative", "staff"})
# A question of its own ("ok thanks. whats the invoice number for my bedding order"): not an answer to ours.
_QUESTION_RE = re.compile(r"\?|\b(?:what|whats|where|wheres|when|why|how|which|who)\b", re.IGNORECASE)


def asks_something(text: str) -> bool:
    """A question of its own: a question word, or a question mark on more than a two-word answer ("ok?", "hmm ok?"
    and "huh?" check an answer rather than ask one)."""
    if _QUESTION_RE.search(text.replace("?", " ")):
        return True
    return "?" in text and len(_WORD_RE.findall(text.lower())) > 2


_LEADING_NO_RE = re.compile(r"^\W*(?:no|nope|nah|no thanks|no thank you)\b(?!\s+(?:problem|worries)\b)", re.IGNORECASE)


def confirm_pending(text: str, *, own_verbs: Sequence[str] = (), other_verbs: Sequence[str] = ()) -> Confirmation:
    """The answer to a pending write (`own_verbs`: the verbs of that action a yes may restate).

    Safer than the plain reading: yes and no in one answer ("no, yes") is unclear; a yes that names another
    action's verb ("yes, change the address" to "shall I cancel TW-100001?") or adds a request of its own is
    unclear, never a yes for this one.
    """
    words = set(_WORD_RE.findall(text.lower().replace("’", "'")))
    if words & _YES_WORDS and words & _NO_WORDS:
        return Confirmation.UNCLEAR
    if _LEADING_NO_RE.match(text) and not words & (_REQUEST_VERBS | _PERSON_WORDS):
        # "nah dont bother, i'll just download it myself", "no, wait, keep it": an answer that opens with a no and
        # asks for nothing else declines (declining is always safe); "no, I want a person" is a request instead.
        return Confirmation.NO
    value = classify_confirmation(text)
    if value is Confirmation.YES and words & ((set(other_verbs) | _REQUEST_VERBS) - set(own_verbs)):
        return Confirmation.UNCLEAR
    if value is Confirmation.YES and _QUESTION_RE.search(text):
        return Confirmation.UNCLEAR  # a yes never runs a write while the customer is still asking something
    return value
