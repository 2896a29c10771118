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
# What `return_obstacle` answers (examples/return_obstacle.yaml): the item cannot go back as the customer describes
# it. `customer_damage`: washed, worn, used or damaged after delivery (returns must be unused and unwashed);
# `packaging_only`: the box is damaged and the item fine (nothing to return: the damaged-items page's transit section).
OBSTACLES = ("customer_damage", "packaging_only")


# A reason usually comes in a clause of its own: "the hoodie has a hole in the seam, can i just get refunded".
_CLAUSE_RE = re.compile(r"[,;.!?]+\s*|\s+(?:but|because|since|as|so)\s+", re.IGNORECASE)


def return_reason(text: str) -> str | None:
    """The ReturnReason value the text gives, or None when it gives none (or the classifier is unsure).

    The whole message is read first, then each of its clauses: the first confident reason wins.
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
    for prediction in get_intent_classifier("return_reason").predict(pieces):
        if prediction.intent is not None and prediction.intent != NO_REASON:
            return prediction.intent
    return None


def return_obstacle(text: str) -> str | None:
    """`customer_damage` or `packaging_only` when the message says why the item cannot go back as a return ("i put
    the hoodie in the dryer and now it's tiny", "the box was crushed but the machine works"), else None.

    Read on the whole message (its clauses alone say less: "the box showed up crushed" is a damage report until "the
    machine works" follows), by its own classifier (`examples/return_obstacle.yaml`, whose `none` is every other
    return situation, defects after normal use included): the reason patterns would take "now it's tiny" for a size.
    """
    if not text.strip():
        return None
    prediction = get_intent_classifier("return_obstacle").predict_one(text)
    return prediction.intent if prediction.intent in OBSTACLES else None
