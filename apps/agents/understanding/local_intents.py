"""The learned intents in the names the specialists' local behaviours use, and the shop-policy questions.

Each local behaviour reads a message's intent with a `detect(text) -> name | None`
function; `learned_detector(specialist)` is that function backed by the
specialist's calibrated classifier instead of a keyword list. Policy intents
(how long delivery takes, the return policy, the warranty, card expiry) are
questions about the shop, answered from the knowledge base even when the
message says "i bought": `is_policy_question` tells them apart.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

from apps.agents.offline.slots import extract_order_numbers
from apps.agents.understanding.described import without_order_descriptions
from apps.agents.understanding.intents import SPECIALISTS, IntentPrediction, detect_intent

GENERAL = "general"  # the local name of every policy intent: the help-center flow answers it

# learned intent -> the local behaviour's intent name
LOCAL_NAMES: dict[str, dict[str, str]] = {
    "order": {
        # Items cannot be edited on a placed order: its state says the way (cancel and order again while pending).
        "modify_items": "modify",
        "track": "track",
        "cancel": "cancel",
        "change_address": "address",
        "list_orders": "list",
        "order_details": "details",
        "delivery_time": GENERAL,
    },
    "returns": {
        "start_return": "return",
        # Another size or colour of the same product: a return that ships the replacement, never a refund.
        "exchange": "exchange",
        "damaged_item": "return",
        "eligibility": "policy",
        "refund_request": "refund",
        "refund_status": "status",
        "return_status": "status",
        # "what can i still return?": the customer's own returnable orders, not the policy page.
        "returnable_items": "returnable",
        "return_policy": GENERAL,
        "warranty": GENERAL,
    },
    "billing": {
        "send_invoice": "send_invoice",
        "list_invoices": "invoice",
        "list_payments": "payments",
        "payment_failed": "failed",
        "payment_methods": "methods",
        "charges_explained": "charges",
        "payment_policy": GENERAL,
        # "my card expires this month, will my order still go through?": their cards' dates, then the policy
        "card_expiry": "card_expiry",
        # "if i send the tote back does the money go to my paypal or my visa?": the order's payment, then the rule
        "refund_method": "refund_method",
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
    """The specialist's learned intent of `text`, read without what only says which order is meant ("can i get the
    forty dollar order cancelled" asks to cancel, whatever a figure suggests: `without_order_descriptions`)."""
    if specialist not in SPECIALISTS or not text.strip():
        return None
    return detect_intent(specialist, without_order_descriptions(text) or text)


def local_name(specialist: str, prediction: IntentPrediction | None) -> str | None:
    """The behaviour's name for a clear prediction: the name its intents together make likeliest.

    Several intents are one behaviour ("it leaks" is `damaged_item`, "i want to send it back" `start_return`: both
    a return), so a message that is a bit of each is that behaviour even when a third intent is the single likeliest
    ("my machine leaks, i want to send it back and get my money back": refund_request 0.46, start_return 0.44,
    damaged_item 0.08 is a return)."""
    if prediction is None or prediction.intent is None:
        return None
    names = LOCAL_NAMES[specialist]
    totals: dict[str, float] = {}
    for intent, probability in prediction.probabilities.items():
        totals[names[intent]] = totals.get(names[intent], 0.0) + probability
    return max(totals, key=lambda name: (totals[name], name == names[prediction.intent or ""]))


# The router's classifier this sure that a message belongs to another specialist (and the behaviour's own
# FOREIGN words agree): it is not ours to answer.
FOREIGN_CONFIDENCE = 0.5


@functools.lru_cache(maxsize=256)
def _route_of(text: str) -> tuple[str, float]:
    from apps.agents.routing.classifier import get_classifier

    prediction = get_classifier().predict([text])[0]
    return prediction.route, prediction.confidence


def foreign_route(specialist: str, text: str) -> str | None:
    """Another specialist's route when the router's classifier is sure the message is theirs, else None.

    Sure of what the message asks, not of the product it names: the classifier must say so of the text with its
    product nouns made neutral too ("ok then, where's my vest" leans to returns only through "vest")."""
    from apps.agents.understanding.cues import without_products

    text = without_order_descriptions(text) or text  # "cancel the $40 order" is not billing's for its figure
    route, confidence = _route_of(text)
    theirs = route in SPECIALISTS and route not in (specialist, "faq")
    if not (theirs and confidence >= FOREIGN_CONFIDENCE):
        return None
    neutral = without_products(text)
    if neutral != text:
        again, sure = _route_of(neutral)
        if again != route or sure < FOREIGN_CONFIDENCE:
            return None
    return route


def learned_detector(specialist: str, *, hand_back: bool = True) -> Callable[[str], str | None]:
    """`detect(text)`: the local name of the learned intent, or None when the classifier is unsure.

    With `hand_back`, a message the router is sure belongs to another specialist has no intent here, so the
    behaviour's hand-back rule can return it to the router instead of answering it badly.
    """

    def detect(text: str) -> str | None:
        prediction = learned_intent(specialist, text)
        if prediction is None or prediction.intent is None:
            return None
        if hand_back and foreign_route(specialist, text):
            return None
        return local_name(specialist, prediction)

    return detect


_OFFER_RE = re.compile(
    r"(?:would you like(?: me)?|do you want(?: me)?|shall i|should i|want me|can i|may i)\s+(?:to\s+)?([^?.!]{3,90})\?",
    re.IGNORECASE,
)


def offered_intent(specialist: str, reply: str) -> str | None:
    """The local intent of the last thing the assistant offered ("Would you like to start a return?" -> return).

    A customer's plain "yes" to our own offer is a request for it, even when no write is pending yet.
    """
    offers = _OFFER_RE.findall(reply or "")
    if not offers:
        return None
    return learned_detector(specialist, hand_back=False)(f"I want to {offers[-1].strip()}")


# Policy intents that are about the customer's own order when they name it: "when is the wool blanket going to
# ship?" asks where their blanket is, not how long delivery takes in general. (A warranty or return-policy
# question stays a policy question whatever it names: the policy is the same for every item; "how much would i
# get back if i returned the canvas tote" is the `eligibility` intent, answered from their order.)
_OWN_ITEM_INTENTS: dict[tuple[str, str], str] = {("order", "delivery_time"): "track"}
# Intents whose answer is the customer's own data even when asked as a what/which question ("what can i still
# return?"): never the help center's.
OWN_DATA_INTENTS: frozenset[tuple[str, str]] = frozenset(
    {("returns", "returnable_items"), ("returns", "refund_status"), ("returns", "return_status")}
)
_OWN_RE = re.compile(r"\b(?:the|my|our|this|that)\s+((?:[a-z0-9'-]+\s+){0,2}[a-z0-9'-]+)", re.IGNORECASE)


def names_own_item(text: str) -> bool:
    """The message names a product with "the"/"my" ("the wool blanket", "my earbuds"): one the customer has."""
    from apps.agents.understanding.cues import names_a_product, text_words

    return any(names_a_product(text_words(m.group(1))) for m in _OWN_RE.finditer(text))


def names_own_order(text: str) -> bool:
    """The message names one of the customer's orders: by a product ("the wool blanket") or by another order ("what
    about the one before that?"). (An amount is read with the intent: `local_rules._general_question`.)"""
    from apps.agents.understanding.cues import relative_order

    return names_own_item(text) or relative_order(text) is not None


def _personal_intent(specialist: str, intent: str | None, text: str) -> str | None:
    """The local name of a policy intent asked about the customer's own item, or None."""
    own = _OWN_ITEM_INTENTS.get((specialist, intent or ""))
    return own if own and names_own_item(text) else None


def is_policy_question(specialist: str, text: str) -> bool:
    """A confident policy intent about no order in particular ("is there a warranty?", "i bought X, return policy?")."""
    if extract_order_numbers(text):
        return False
    prediction = learned_intent(specialist, text)
    if prediction is None or (specialist, prediction.intent or "") not in POLICY_INTENTS:
        return False
    return _personal_intent(specialist, prediction.intent, text) is None


# An answer to our own question this short is a slot ("the yellow rain jacket", "TW-100007", "my last one"),
# and keeps the topic of the message before unless it is itself a confident new request ("cancel it").
_ANSWER_WORDS = 6
# Words that make a short message a request of its own rather than a slot ("TW-100007", "the blanket one").
_REQUEST_WORDS = frozenset(
    [
        "cancel",
        "return",
        "refund",
        "refunded",
        "track",
        "tracking",
        "where",
        "when",
        "status",
        "send",
        "email",
        "invoice",
        "receipt",
        "change",
        "update",
        "exchange",
        "deliver",
        "delivery",
        "shipped",
        "ship",
        "arrive",
        "pay",
        "paid",
        "charge",
        "charged",
        "warranty",
        "policy",
        "how",
        "why",
        "what",
    ]
)
_NEW_REQUEST_CONFIDENCE = 0.9


def turn_intent(
    specialist: str, text: str, *, earlier: list[str], last_reply: str, replies: Sequence[str] = ()
) -> str | None:
    """The local intent of the customer's message in its conversation.

    When the message answers the assistant's question, a short answer keeps the intent of the customer's message
    before it, and a plain yes to the assistant's own offer is a request for what was offered.
    """
    answering_us = "?" in (last_reply or "")
    prediction = learned_intent(specialist, text)
    found = local_name(specialist, prediction)
    if prediction is not None and found == GENERAL:
        found = _personal_intent(specialist, prediction.intent, text) or found
    if found and hand_back_wanted(specialist, text):
        found = None
    if not answering_us:
        return found
    from apps.agents.understanding.confirmation import Confirmation, classify_confirmation

    if classify_confirmation(text) is Confirmation.YES:
        return offered_intent(specialist, last_reply) or _earlier_intent(specialist, earlier, replies)
    from apps.agents.understanding.cues import points_only, without_products

    short = len(text.split()) <= _ANSWER_WORDS
    slot_only = short and not (_REQUEST_WORDS & set(re.findall(r"[a-z']+", text.lower())))
    # "the one with the mug in it": pointing at one of their orders, however many words it takes
    slot_only = slot_only or points_only(without_products(text))
    unsure = prediction is None or prediction.confidence < _NEW_REQUEST_CONFIDENCE
    if found and not slot_only and not (short and unsure):
        return found
    return _earlier_intent(specialist, earlier, replies) or found


def hand_back_wanted(specialist: str, text: str) -> bool:
    return foreign_route(specialist, text) is not None


def _earlier_intent(specialist: str, earlier: list[str], replies: Sequence[str] = ()) -> str | None:
    """The topic the conversation is on: the intent of the customer's latest messages that had one.

    A yes to the assistant's own offer stands for what was offered ("Would you like to start a return?" / "ok
    yes" is a return); any other yes or no, or a bare slot, says nothing about the topic and is skipped. The
    customer's message `earlier[-k]` answered the assistant's reply `replies[-k - 1]` (one reply per message).
    """
    from apps.agents.understanding.confirmation import Confirmation, classify_confirmation

    detect = learned_detector(specialist)
    recent = list(enumerate(reversed(earlier)))[:3]
    for k, text in recent:
        if classify_confirmation(text) is not Confirmation.UNCLEAR:
            answered = replies[-k - 2] if len(replies) >= k + 2 else ""
            offered = offered_intent(specialist, answered) if answered else None
            if offered:
                return offered
            continue
        found = detect(text)
        if found:
            return found
    return None
