"""Items found by what the customer's words mean (`understanding.meaning`), on the real local embeddings."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.agents.understanding.meaning import content_phrases, match_by_meaning
from apps.agents.understanding.references import ItemFacts, OrderFacts, ResolutionKind, resolve_order
from apps.commerce.models import Product
from apps.commerce.selectors import product_descriptions

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)

TEE = ItemFacts(product="Harbor Crew T-Shirt", variant="L / White", category="apparel", unit_price=Decimal("24"))
CHINOS = ItemFacts(product="Dockside Chinos", variant="M / Khaki", category="apparel", unit_price=Decimal("59"))
EARBUDS = ItemFacts(product="Wireless Earbuds", variant="Black", category="accessories", unit_price=Decimal("89"))
SKILLET = ItemFacts(product="Cast Iron Skillet", variant="10 inch", category="kitchen", unit_price=Decimal("45"))
MUG = ItemFacts(product="Stoneware Mug", variant="Ink", category="home", unit_price=Decimal("18"))
BEDDING = ItemFacts(product="Linen Bedding Set", variant="Queen / White", category="home", unit_price=Decimal("189"))

DESCRIPTIONS = {
    "Harbor Crew T-Shirt": "Heavyweight organic cotton tee with a relaxed fit.",
    "Dockside Chinos": "Stretch cotton chinos with a tapered leg.",
    "Wireless Earbuds": "Noise-isolating earbuds with a charging case.",
    "Cast Iron Skillet": "Pre-seasoned cast iron skillet.",
    "Stoneware Mug": "12 oz handmade stoneware mug.",
    "Linen Bedding Set": "Stonewashed linen duvet cover and pillowcases.",
}


def order(number: str, days: int, status: str, *items: ItemFacts) -> OrderFacts:
    placed = NOW - timedelta(days=days)
    return OrderFacts(number, status, placed, items, sum((i.unit_price for i in items), Decimal("0")))


ORDERS = [
    order("TW-300001", 1, "processing", EARBUDS),
    order("TW-300002", 12, "delivered", TEE),
    order("TW-300003", 16, "delivered", CHINOS),
    order("TW-300004", 18, "delivered", SKILLET),
    order("TW-300005", 30, "delivered", MUG),
    order("TW-300006", 33, "delivered", BEDDING),
]


def test_content_phrases_leave_out_the_words_of_the_request():
    assert content_phrases("has my cotton stuff been shipped yet? thanks") == ["cotton"]
    assert content_phrases("my cooking and coffee things please") == ["cooking", "coffee"]
    assert content_phrases("where is my order #2?") == []


def test_a_word_of_the_description_names_every_item_it_describes():
    # when
    meant = match_by_meaning("the cotton stuff i got from you", ORDERS, descriptions=DESCRIPTIONS)
    # then both cotton items are meant, nothing else
    assert meant is not None
    assert [o.number for o in meant.orders] == ["TW-300002", "TW-300003"]
    assert meant.items == {"TW-300002": (TEE,), "TW-300003": (CHINOS,)}


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("my cooking and coffee stuff", ["TW-300004", "TW-300005"]),  # the kitchen's skillet, the mug
        ("my gadgets", ["TW-300001"]),  # the accessories' earbuds
        ("the bed stuff", ["TW-300006"]),
    ],
)
def test_a_word_no_list_knows_names_the_items_it_means(text, numbers):
    # when
    meant = match_by_meaning(text, ORDERS, descriptions=DESCRIPTIONS)
    # then
    assert meant is not None
    assert [o.number for o in meant.orders] == numbers


@pytest.mark.parametrize(
    "text",
    ["has it been packed yet?", "something came up, money is tight", "where is my order", "the weekend was awful"],
)
def test_words_about_the_request_name_no_item(text):
    assert match_by_meaning(text, ORDERS, descriptions=DESCRIPTIONS) is None


@pytest.mark.django_db
def test_the_resolver_reads_the_catalogue_description_of_the_customers_items():
    # given the catalogue describes the customer's products
    for sku, (name, description) in enumerate(DESCRIPTIONS.items()):
        Product.objects.create(sku=f"MEAN-{sku}", name=name, description=description, category="x")
    # when the customer names the items by what they are made of
    resolution = resolve_order("return the cotton stuff", ORDERS, action="return", now=NOW)
    # then the question lists the two cotton items' orders, newest first
    assert resolution.kind is ResolutionKind.AMBIGUOUS
    assert resolution.numbers == ["TW-300002", "TW-300003"]


@pytest.mark.django_db
def test_product_descriptions_read_only_the_products_named():
    # given
    Product.objects.create(sku="D-1", name="Stoneware Mug", description="12 oz handmade stoneware mug.", category="h")
    Product.objects.create(sku="D-2", name="Gift Card", description="", category="g")
    Product.objects.create(sku="D-3", name="Day Pack 22L", description="A day pack.", category="o")
    # when
    found = product_descriptions(names=["Stoneware Mug", "Gift Card", "Nothing"])
    # then a product without a description is left out, and one not named too
    assert found == {"Stoneware Mug": "12 oz handmade stoneware mug."}


def test_an_order_left_out_is_no_candidate():
    # given two delivered orders, one holding shoes
    shoes = ItemFacts(product="Deck Shoes", variant="US 9", category="footwear")
    orders = [*ORDERS[1:3], order("TW-300009", 60, "delivered", shoes)]
    # when
    resolution = resolve_order("i'd like to return the stuff, not the old shoes", orders, action="return", now=NOW)
    # then the shoes' order is left out, and the question lists the others
    assert resolution.kind is ResolutionKind.AMBIGUOUS
    assert resolution.numbers == ["TW-300002", "TW-300003"]
    assert resolution.cues[0] == "not: TW-300009"


def test_something_that_came_up_is_no_delivery():
    # given a pending order placed today and orders delivered this month
    orders = [order("TW-300010", 0, "pending", MUG), *ORDERS[1:3]]
    # when
    resolution = resolve_order("something came up this month, please cancel my order", orders, action="cancel", now=NOW)
    # then "this month" is any of its dates, and the action keeps the pending order
    assert resolution.kind is ResolutionKind.UNIQUE
    assert resolution.numbers == ["TW-300010"]


def test_an_item_left_out_of_an_order_the_message_names_keeps_the_order():
    # given one order holding the shirts and the mug, another the mug alone
    shirts_and_mug = order("TW-300011", 1, "pending", TEE, MUG)
    orders = [shirts_and_mug, order("TW-300012", 30, "delivered", MUG)]
    # when
    resolution = resolve_order("take the mug off? still want the shirt just not the mug", orders, now=NOW)
    # then the order the shirt names is still the one meant
    assert resolution.kind is ResolutionKind.UNIQUE
    assert resolution.numbers == ["TW-300011"]
