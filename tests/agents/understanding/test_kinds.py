"""Kinds of products a message points at that the customer never bought (`understanding.kinds`), on the real local
embeddings and the product-kind classifier."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.agents.understanding.kinds import kinds_not_bought, pointed_phrases, product_kinds
from apps.agents.understanding.meaning import match_by_meaning
from apps.agents.understanding.references import ItemFacts, OrderFacts, ResolutionKind, resolve_order

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
MUG = ItemFacts(product="Stoneware Mug", variant="Ink", category="home", unit_price=Decimal("18"))
VEST = ItemFacts(product="Puffer Vest", variant="L / Black", category="apparel", unit_price=Decimal("89"))
ORDERS = [
    OrderFacts("TW-500001", "delivered", NOW, (MUG,), Decimal("18")),
    OrderFacts("TW-500002", "shipped", NOW, (VEST,), Decimal("89")),
]
CATALOGUE = [
    ("Stoneware Mug", "home", "12 oz handmade stoneware mug."),
    ("Pour-Over Kettle", "kitchen", "Gooseneck kettle with thermometer."),
    ("Puffer Vest", "apparel", "Lightweight recycled-fill puffer vest."),
]


@pytest.mark.parametrize(
    ("text", "phrases"),
    [
        ("where is my toaster", ["toaster"]),
        ("the teapot i ordered, where is it?", ["teapot"]),
        ("my bucket hat", ["bucket hat"]),
        ("the black one", ["black"]),
        ("where is my order", []),
    ],
)
def test_what_a_message_points_at(text, phrases):
    assert pointed_phrases(text) == phrases


def test_kinds_of_products_are_told_from_other_things_a_customer_names():
    assert product_kinds(["toaster", "daughter", "weekend", "bucket hat", "green", "statement"]) == [
        "toaster",
        "bucket hat",
    ]


def test_a_kind_none_of_their_items_is_near_is_not_theirs():
    # when
    meant = match_by_meaning("my toaster arrived broken", ORDERS, descriptions={})
    # then
    assert kinds_not_bought("my toaster arrived broken", ORDERS, meant, catalogue=CATALOGUE) == ["toaster"]


def test_a_kind_nearer_a_product_of_the_shop_they_never_bought_is_not_theirs():
    # given "teapot" is near their mug, but nearer the shop's kettle
    meant = match_by_meaning("the teapot i ordered", ORDERS, descriptions={})
    # when / then
    assert kinds_not_bought("the teapot i ordered", ORDERS, meant, catalogue=CATALOGUE) == ["teapot"]


def test_what_describes_their_own_item_is_theirs():
    assert kinds_not_bought("the black one", ORDERS, None, catalogue=CATALOGUE) == []
    story = "my daughter's recital is today, where is my order"
    assert kinds_not_bought(story, ORDERS, None, catalogue=CATALOGUE) == []


def test_the_resolver_says_none_of_their_orders_holds_a_product_they_never_bought():
    # when a tracking question names a toaster (no database: the catalogue has no rivals to offer)
    resolution = resolve_order("where is my toaster", ORDERS, action="track", now=NOW)
    # then the shipped vest is not picked by the action: nothing of theirs fits
    assert resolution.kind is ResolutionKind.NONE
    assert resolution.cues == ("item: not in any order (toaster)",)
