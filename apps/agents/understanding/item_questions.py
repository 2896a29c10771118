"""A question about the customer's own item's size, colour or variant ("what size did i order the runners in?"):
answered from the order's own lines, whichever specialist the message reaches.

Whether a message asks it is learned (`examples/item_question.yaml`, held out in `heldout/item_question.yaml`); the
item is the one of the customer's own items the message names by its head noun, a compound or a synonym
(`cues.match_item`). A size or colour the customer names in the question ("my husband swears i got a 9") is what
they are unsure of, so it does not pick the item.
"""

from __future__ import annotations

from collections.abc import Sequence

from apps.agents.understanding.cues import (
    HEAD_NOUN_SCORE,
    item_words,
    match_item,
    points_only,
    text_words,
)
from apps.agents.understanding.intents import get_intent_classifier
from apps.agents.understanding.order_facts import ItemFacts, OrderFacts

OWN_ATTRIBUTE = "own_attribute"


def asks_own_attribute(text: str, items: Sequence[ItemFacts] = ()) -> bool:
    """Whether the message surely asks which size, colour or variant of an item the customer themselves ordered. A
    message that only points at one of their `items` ("the blanket one", answering "which order?") asks nothing."""
    if not text.strip() or points_only_at(text, items):
        return False
    return get_intent_classifier("item_question").predict_one(text).intent == OWN_ATTRIBUTE


def items_asked_about(text: str, orders: Sequence[OrderFacts]) -> list[tuple[OrderFacts, ItemFacts]]:
    """The customer's items (each with its order, newest order first) the text names by what they are; of items named
    with different strengths, the best named ("the trail runners": the runners, not the deck shoes)."""
    words = text_words(text)
    scored = [
        (match_item(text, words, item).score, order, item)
        for order in sorted(orders, key=lambda o: o.placed_at, reverse=True)
        for item in order.items
    ]
    named = [(score, order, item) for score, order, item in scored if score >= HEAD_NOUN_SCORE]
    if not named:
        return []
    best = max(score for score, _, _ in named)
    return [(order, item) for score, order, item in named if score == best]


def points_only_at(text: str, items: Sequence[ItemFacts]) -> bool:
    """Whether the text, less the words naming one of `items`, only points ("the blanket one"): `cues.points_only`."""
    naming = {word for item in items for word in item_words(text, item)}
    rest = [w for w in text_words(text) if w not in naming]
    return not rest or points_only(" ".join(rest), noun="")
