"""Messages that name something the customer bought: about their orders, whatever the product word suggests.

"where is my backpack?" reads like a lost-property question to a classifier trained on words alone; against the
customer's own orders it names the Day Pack they are waiting for. The router's examples cannot hold every product
the shop sells, so a product word can also pull a message towards whichever route its examples happened to use it
in ("where's my vest" read as a return). When the verdict is unsure, or refuses, and the message names one of the
session's own items (a signed-in customer's orders, or a verified guest's one order), the message is classified
again with the item's words replaced by a neutral noun ("where's my item"): what it asks, not what it names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from apps.agents.routes import ORDER, OUT_OF_SCOPE, SPECIALIST_ROUTES, RouteDecision
from apps.agents.routing.classifier import Prediction
from apps.agents.understanding.cues import (
    HEAD_NOUN_SCORE,
    POINTING_WORDS,
    item_words,
    match_item,
    points_only,
    sizes_as_nouns,
    text_words,
)
from apps.agents.understanding.described import without_order_descriptions
from apps.agents.understanding.item_questions import asks_own_attribute, points_only_at
from apps.agents.understanding.order_facts import ItemFacts, order_facts_for_session
from apps.agents.understanding.vocabulary import DESCRIBING_WORDS

_NEUTRAL_NOUN = "item"


def session_items(conversation: Any) -> list[ItemFacts]:
    """The items of the orders the conversation's session may see (none for an anonymous visitor)."""
    customer = getattr(conversation, "customer", None)
    verified = getattr(conversation, "verified_order", None)
    if customer is None and verified is None:
        return []
    orders = order_facts_for_session(customer=customer, verified_order=verified)
    return [item for order in orders for item in order.items]


def named_item(text: str, items: Sequence[ItemFacts]) -> ItemFacts | None:
    """The first of `items` whose head noun the text names (itself, a compound or a synonym), or None."""
    words = text_words(text)
    return next((item for item in items if match_item(text, words, item).score >= HEAD_NOUN_SCORE), None)


def named_customer_item(text: str, conversation: Any) -> str:
    """The product name of the session's own item the text names ("" when none, or nobody is identified)."""
    item = named_item(text, session_items(conversation))
    return item.product if item is not None else ""


def names_only(neutral: str) -> bool:
    """The message, its item made neutral, only points at it ("the item", "the green item"): it asks nothing of its
    own."""
    return all(w in POINTING_WORDS or w in DESCRIBING_WORDS or w == _NEUTRAL_NOUN for w in text_words(neutral))


def points_at_own_order(text: str, conversation: Any) -> bool:
    """The message only points at the session's own items and orders ("the socks from the hoodie order", "the
    yellow rain jacket", "the green bag" for the Moss day pack): an answer to "which order?", or which item the open
    topic is about, not a request of its own. A colour or size word describes the item, whether or not it is the
    variant's own word ("green" for Moss): the resolver weighs it against their items."""
    items = session_items(conversation) if conversation is not None else []
    named = [item for item in items if named_item(text, [item]) is not None]
    if not named:
        return False
    for item in named:
        text = without_item(text, item)
    described = " ".join(w for w in text_words(text) if w not in DESCRIBING_WORDS)
    return points_only(described, _NEUTRAL_NOUN)


def item_named_alone(text: str, conversation: Any, verdict: Prediction) -> RouteDecision | None:
    """A message that only names one of their own items ("my trail runners", "the vest?") with no topic open asks
    after that item: the order it is in, which the order specialist finds from their orders. (On a topic, the
    same words answer or continue it: "the tote", after the returns specialist's answer, is the tote to return.)"""
    if not points_at_own_order(text, conversation):
        return None
    return RouteDecision(ORDER, 1.0, "local", f"names only their own item ({verdict.route} p={verdict.confidence:.2f})")


def own_item_question(text: str, conversation: Any, verdict: Prediction) -> RouteDecision | None:
    """A question about which size, colour or variant of one of their own items the customer ordered ("what colour
    did i choose for the apron?") is about their order, whatever the product or "choose" pulls it towards (an
    exchange, the size guide): the order specialist reads it from the order's lines."""
    # Not skipped when the verdict is already `order`: below the threshold an unsure `order` loses to the topic the
    # conversation is on (after a refused joke, "what size did i order the trail runners in?" stayed out of scope).
    if conversation is None or not asks_own_attribute(text):
        return None  # (the learned reader first: most messages ask something else, and their orders need a query)
    items = session_items(conversation)
    item = named_item(text, items)
    if item is None or points_only_at(text, items):  # (the reader already said yes above)
        return None
    why = f"asks which variant of their {item.product} they ordered ({verdict.route} p={verdict.confidence:.2f})"
    return RouteDecision(ORDER, 1.0, "local", why)


def without_item(text: str, item: ItemFacts) -> str:
    """The text with the words naming `item` replaced by one neutral noun ("where's my puffer vest" -> "where's my
    item"): what the message asks about the item, whatever the product is."""
    words = item_words(text, item)
    if not words:
        return text
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    out = re.sub(rf"(?<![\w'-])(?:{alternatives})(?![\w'-])", _NEUTRAL_NOUN, text, flags=re.IGNORECASE)
    return re.sub(rf"\b{_NEUTRAL_NOUN}(?:\s+{_NEUTRAL_NOUN})+\b", _NEUTRAL_NOUN, out)


# A verdict this sure is left alone even when the message names the customer's own item: the product word did not
# decide it.
_OWN_ITEM_SURE = 0.9
# The help center's verdict stands: how to wash the wool throw is a question about that product, its word included.
_PRODUCT_QUESTIONS = "faq"


def reread_own_items(
    texts: Sequence[str],
    raw: Sequence[Prediction],
    settled: Sequence[Prediction],
    conversation: Any,
    *,
    reread: Callable[[list[str]], list[Prediction]],
    in_scope: Callable[..., Prediction],
) -> list[Prediction]:
    """`settled` (the router's verdicts on `texts`), where an unsure or refusing one names the session's own item:
    the verdict `reread` gives the text with the item's words made neutral ("where's my item") when that is a
    specialist and surer; a refusal that names their item goes to the likeliest specialist (`in_scope`) unless the
    message read without it is refused too: then the item was not what made it look foreign ("any good hiking
    trails near savannah? wanna take my new item out" asks about trails, whatever it names).
    An unsure specialist verdict on a message naming an order by its amount or how it was paid is read again without
    them (`described.without_order_descriptions`: "whats going on with my $145 order" -> "whats going on with my
    order").
    """
    out = list(settled)
    todo = [
        i
        for i, p in enumerate(settled)
        # a task the shop does not do ("a poem about my vest") is refused whatever of theirs it names
        if not p.task
        and (
            OUT_OF_SCOPE in (p.route, raw[i].route)
            or (
                p.route in SPECIALIST_ROUTES
                # (unless "size" named it: "my size 8s" are their shoes, not a size-guide question)
                and (p.route != _PRODUCT_QUESTIONS or sizes_as_nouns(texts[i]))
                and p.confidence < _OWN_ITEM_SURE
            )
        )
    ]
    if not todo:
        return out
    items = session_items(conversation) if conversation is not None else []
    named = {i: item for i in todo if items and (item := named_item(texts[i], items)) is not None}
    # An amount or a payment naming an order ("the $145 order", "the thing i paid for w paypal") says which order, not
    # what is asked: a figure or a card pulls a message towards billing as a product word pulls it towards its route.
    neutral = {
        i: without_order_descriptions(without_item(texts[i], named[i]) if i in named else texts[i]) for i in todo
    }
    neutral = {i: plain for i, plain in neutral.items() if i in named or plain != texts[i]}
    # A message that only names the item ("the yellow rain jacket", answering our question) asks nothing to reread.
    asks = [i for i in neutral if not names_only(neutral[i])]
    again = dict(zip(asks, reread([neutral[i] for i in asks]), strict=True)) if asks else {}
    for i in neutral:
        item = named.get(i)
        what = f"names their {item.product}" if item is not None else "names an order by its amount or payment"
        before, verdict = settled[i], again.get(i)
        if (
            verdict is not None
            and verdict.route in SPECIALIST_ROUTES
            and (
                (before.route == OUT_OF_SCOPE and item is not None)
                or (before.route in SPECIALIST_ROUTES and verdict.confidence > before.confidence)
            )
        ):
            out[i] = replace(verdict, reason=f"{verdict.reason} ({what}, read as {neutral[i]!r})")
        elif before.route == OUT_OF_SCOPE and item is not None and not (verdict and verdict.route == OUT_OF_SCOPE):
            out[i] = in_scope(raw[i], why=what)
    return out
