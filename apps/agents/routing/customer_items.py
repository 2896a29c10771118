"""Whether a message names something the customer bought: such a message is about their orders.

"where is my backpack?" reads like a lost-property question to a classifier trained on words alone; against the
customer's own orders it names the Day Pack they are waiting for. Likewise "can you deliver the puffer vest to my
partner's place instead?" reads like the shop's delivery options, but the vest is on one of their orders. Read only
when the classifier would refuse the message or send it to a specialist that answers general questions only.
"""

from __future__ import annotations

from typing import Any

from apps.agents.offline.slots import extract_order_numbers
from apps.agents.routes import OUT_OF_SCOPE
from apps.agents.routing.classifier import Prediction, best_in_scope
from apps.agents.understanding.cues import match_item, text_words
from apps.agents.understanding.order_facts import order_facts_for_customer

# The item's head noun must match, itself (2.0) or through a compound or synonym (0.8 of it: "backpack" names the
# Day Pack); a colour, a size or a category word alone names no item.
_HEAD_NOUN_SCORE = 1.6


def named_customer_item(text: str, conversation: Any) -> str:
    """What of the signed-in customer's own the text names: one of their order numbers, else an item's product name
    ("" when none, or no signed-in customer)."""
    customer = getattr(conversation, "customer", None)
    if customer is None:
        return ""
    orders = order_facts_for_customer(customer=customer)
    numbers = {order.number for order in orders}
    for number in extract_order_numbers(text):
        if number in numbers:
            return number
    words = text_words(text)
    for order in orders:
        for item in order.items:
            if match_item(text, words, item).score >= _HEAD_NOUN_SCORE:
                return item.product
    return ""


# A general-questions verdict (faq) yields to the customer's own orders when the message names one of their items or
# order numbers and the classifier is torn between the two: the general route below this...
_GENERAL_YIELD_BELOW = 0.8
# ...and a specialist that reads orders at least this likely. A clear general question ("do you deliver to Canada?")
# stands whatever they bought, and so does one where no order route is in sight ("i bought the mugs, can they go in
# the dishwasher?": the care question is the help center's).
_ORDERS_AT_LEAST = 0.25


def about_their_orders(
    text: str, conversation: Any, local: Prediction, raw: Prediction
) -> tuple[Prediction, Prediction]:
    """(local, raw) again, moved to the likeliest specialist (of those that read orders, for a general-questions
    verdict) when the message names something of the signed-in customer's own and the verdict would refuse it or
    answer it as a general question about the shop."""
    from apps.agents.registry import general_routes

    if local.route == OUT_OF_SCOPE:
        passed_over: frozenset[str] = frozenset()
    elif local.route in general_routes() and local.confidence < _GENERAL_YIELD_BELOW:
        passed_over = general_routes()
    else:
        return local, raw
    moved = best_in_scope(raw, why="", passed_over=passed_over)
    if moved.route == local.route or (passed_over and moved.confidence < _ORDERS_AT_LEAST):
        return local, raw
    item = named_customer_item(text, conversation)
    if not item:
        return local, raw
    moved = best_in_scope(raw, why=f"names their {item}", passed_over=passed_over)
    return moved, moved
