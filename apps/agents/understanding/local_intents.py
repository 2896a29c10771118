"""The learned intents in the names the specialists' local behaviours use, and the shop-policy questions.

Each local behaviour reads a message's intent with a `detect(text) -> name | None`
function; `learned_detector(specialist)` is that function backed by the
specialist's calibrated classifier instead of a keyword list. Policy intents
(how long delivery takes, the return policy, the warranty, card expiry) are
questions about the shop, answered from the knowledge base even when the
message says "i bought": `is_policy_question` tells them apart.
"""

from __future__ import annotations

from collections.abc import Callable

from apps.agents.offline.slots import extract_order_numbers
from apps.agents.understanding.intents import SPECIALISTS, IntentPrediction, detect_intent

GENERAL = "general"  # the local name of every policy intent: the help-center flow answers it

# learned intent -> the local behaviour's intent name
LOCAL_NAMES: dict[str, dict[str, str]] = {
    "order": {
        "track": "track",
        "cancel": "cancel",
        "change_address": "address",
        "list_orders": "list",
        "order_details": "details",
        "delivery_time": GENERAL,
    },
    "returns": {
        "start_return": "return",
        "damaged_item": "return",
        "eligibility": "policy",
        "refund_request": "refund",
        "refund_status": "status",
        "return_status": "status",
        "return_policy": GENERAL,
        "warranty": GENERAL,
    },
    "billing": {
        "send_invoice": "send_invoice",
        "list_invoices": "invoice",
        "payment_failed": "failed",
        "payment_methods": "methods",
        "charges_explained": "charges",
        "payment_policy": GENERAL,
    },
    "faq": {
        "account": GENERAL,
        "shop_info": GENERAL,
        "product_question": GENERAL,
        "privacy_security": GENERAL,
    },
}
POLICY_INTENTS: frozenset[tuple[str, str]] = frozenset(
    (specialist, intent)
    for specialist, names in LOCAL_NAMES.items()
    for intent, local in names.items()
    if local == GENERAL
)


def learned_intent(specialist: str, text: str) -> IntentPrediction | None:
    if specialist not in SPECIALISTS or not text.strip():
        return None
    return detect_intent(specialist, text)


def learned_detector(specialist: str) -> Callable[[str], str | None]:
    """`detect(text)`: the local name of the learned intent, or None when the classifier is unsure."""
    names = LOCAL_NAMES[specialist]

    def detect(text: str) -> str | None:
        prediction = learned_intent(specialist, text)
        if prediction is None or prediction.intent is None:
            return None
        return names[prediction.intent]

    return detect


def is_policy_question(specialist: str, text: str) -> bool:
    """A confident policy intent about no order in particular ("is there a warranty?", "i bought X, return policy?")."""
    if extract_order_numbers(text):
        return False
    prediction = learned_intent(specialist, text)
    return prediction is not None and (specialist, prediction.intent or "") in POLICY_INTENTS
