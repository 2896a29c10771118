"""Whether a message names something the customer bought: such a message is about their orders, not out of scope.

"where is my backpack?" reads like a lost-property question to a classifier trained on words alone; against the
customer's own orders it names the Day Pack they are waiting for. Read only when the classifier would refuse.
"""

from __future__ import annotations

from typing import Any

from apps.agents.understanding.cues import match_item, text_words
from apps.agents.understanding.order_facts import order_facts_for_customer

# The item's head noun must match, itself (2.0) or through a compound or synonym (0.8 of it: "backpack" names the
# Day Pack); a colour, a size or a category word alone names no item.
_HEAD_NOUN_SCORE = 1.6


def named_customer_item(text: str, conversation: Any) -> str:
    """The product name of the customer's own item the text names ("" when none, or no signed-in customer)."""
    customer = getattr(conversation, "customer", None)
    if customer is None:
        return ""
    words = text_words(text)
    for order in order_facts_for_customer(customer=customer):
        for item in order.items:
            if match_item(text, words, item).score >= _HEAD_NOUN_SCORE:
                return item.product
    return ""
