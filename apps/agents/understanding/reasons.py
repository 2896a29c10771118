"""Why the customer sends an item back (the `ReturnReason` of a return), from what they say.

The phrase patterns of the offline slots come first ("wrong size", "changed my mind"); a message they miss
("there's a hole in the seam", "dont really need it", "one of them is a totally different colour") is read by
a learned classifier trained on `examples/return_reason.yaml`, whose `none` intent is a message that gives no
reason ("i want to return the hoodie"). Below its calibrated threshold there is no reason: the specialist asks.
"""

from __future__ import annotations

import re

from apps.agents.offline.slots import denies_a_reason, extract_return_reason
from apps.agents.understanding.intents import get_intent_classifier

NO_REASON = "none"
# What `return_obstacle` reads (examples/return_obstacle.yaml): `packaging_only` (the box is damaged and the item fine:
# nothing to return, the damaged-items page's transit section) and `customer_damage` (washed, worn, used or damaged
# after delivery). Both are acted on: `customer_damage` is answered with the policy (returns must be unused and
# unwashed; a fault is a person's call) unless the message also gives a defect reason the phrase patterns read ("it
# arrived torn, and then i washed it"), which goes the way of a return.
PACKAGING_ONLY = "packaging_only"
CUSTOMER_DAMAGE = "customer_damage"
_DEFECTS = frozenset(("damaged", "wrong_item", "not_as_described"))

# A reason usually comes in a clause of its own: "the hoodie has a hole in the seam, can i just get refunded".
_CLAUSE_RE = re.compile(r"[,;.!?]+\s*|\s+(?:but|because|since|as|so)\s+", re.IGNORECASE)


def return_reason(text: str) -> str | None:
    """The ReturnReason value the text gives, or None when it gives none (or the classifier is unsure).

    The whole message is read first; when it gives no confident reason, the surest of its clauses' reasons wins ("my
    partner got me the same hoodie lol so i dont need the one i ordered": the second clause says why, surely).
    """
    found = extract_return_reason(text)
    if found or not text.strip():
        return found
    clauses = [c.strip() for c in _CLAUSE_RE.split(text) if len(c.strip().split()) >= 2]
    if denies_a_reason(text):
        # "no damage, i just dont love the colour": the reason is in the clauses that deny nothing.
        pieces = [c for c in clauses if not denies_a_reason(c)]
    else:
        pieces = list(dict.fromkeys([text.strip(), *clauses]))
    if not pieces:
        return None
    predictions = get_intent_classifier("return_reason").predict(pieces)
    given = [p for p in predictions if p.intent is not None and p.intent != NO_REASON]
    if not given:
        return None
    if pieces[0] == text.strip() and predictions[0] in given:
        return predictions[0].intent
    return max(given, key=lambda p: p.confidence).intent


def return_obstacle(text: str) -> str | None:
    """`packaging_only` when the message says only the box is damaged and the item is fine ("the box showed up crushed,
    the machine works"): there is nothing to send back; `customer_damage` when the customer washed, wore or damaged it
    ("i put the hoodie in the dryer and now it's tiny"): the policy takes back only unused, unwashed items; else None.

    Read on the whole message (its clauses alone say less: "the box showed up crushed" is a damage report until "the
    machine works" follows), by its own classifier (`examples/return_obstacle.yaml`, whose `none` is every other
    return situation, damage to the item in transit included): the reason patterns would take "crushed" for damage.
    """
    if not text.strip():
        return None
    prediction = get_intent_classifier("return_obstacle").predict_one(text)
    if prediction.intent == CUSTOMER_DAMAGE and extract_return_reason(text) in _DEFECTS:
        return None
    return prediction.intent if prediction.intent in (PACKAGING_ONLY, CUSTOMER_DAMAGE) else None


WHAT_IF = "what_if"


def asks_what_if(text: str) -> bool:
    """Whether the message only asks what WOULD happen if the customer sent their item back (the fee, the label, what
    they'd get back: "if i send the hoodie back what do i get back?", "would i pay the return fee if the runners dont
    fit?"), not for the return now. Read by its own classifier (`examples/return_question.yaml`), surely: a reason in
    a what-if ("if the runners dont fit") is not a request, so the answer is the facts and the return only offered."""
    if not text.strip():
        return False
    return get_intent_classifier("return_question").predict_one(text).intent == WHAT_IF
