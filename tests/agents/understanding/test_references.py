from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.agents.understanding.references import (
    ItemFacts,
    OrderFacts,
    ResolutionKind,
    date_window,
    facts_from_data,
    order_facts_for_customer,
    orders_named_apart,
    resolve_in_context,
    resolve_order,
)
from apps.commerce.models import OrderStatus
from tests.commerce.factories import make_customer, make_order, make_variant

NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 6, 10, tzinfo=UTC)


def ago(days: int, hour: int = 12) -> datetime:
    return MIDNIGHT - timedelta(days=days) + timedelta(hours=hour)


def item(product: str, variant: str, category: str, price: str) -> ItemFacts:
    return ItemFacts(product=product, variant=variant, category=category, unit_price=Decimal(price))


# A customer with one order in each situation (shaped like the demo shop's alice).
ORDERS = [
    OrderFacts(
        "TW-200001",
        "pending",
        ago(1, 21),
        (item("Harbor Crew T-Shirt", "M / Navy", "apparel", "24"), item("Stoneware Mug", "Sea Glass", "home", "18")),
        Decimal("66"),
    ),
    OrderFacts(
        "TW-200002",
        "processing",
        ago(2, 10),
        (item("Tidewater Rain Jacket", "M / Yellow", "apparel", "129"),),
        Decimal("129"),
    ),
    OrderFacts(
        "TW-200003",
        "shipped",
        ago(4, 9),
        (item("Trail Runners", "US 8", "footwear", "135"),),
        Decimal("135"),
        shipped_at=ago(3, 15),
    ),
    OrderFacts(
        "TW-200004",
        "delivered",
        ago(9, 11),
        (
            item("Harbor Hoodie", "M / Navy", "apparel", "68"),
            item("Merino Crew Socks (3-pack)", "S/M", "apparel", "26"),
        ),
        Decimal("94"),
        delivered_at=ago(5, 14),
    ),
    OrderFacts(
        "TW-200005",
        "delivered",
        ago(66, 10),
        (item("Deck Shoes", "US 9", "footwear", "95"),),
        Decimal("95"),
        delivered_at=ago(60, 15),
    ),
    OrderFacts(
        "TW-200006",
        "delivered",
        ago(14, 8),
        (
            item("Sample Sale Denim Jacket", "M / Indigo", "apparel", "45"),
            item("Canvas Tote Bag", "Natural", "accessories", "28"),
        ),
        Decimal("73"),
        delivered_at=ago(10, 16),
    ),
    OrderFacts(
        "TW-200007", "pending", ago(1, 18), (item("Wool Throw Blanket", "Grey Check", "home", "120"),), Decimal("120")
    ),
    OrderFacts(
        "TW-200008",
        "cancelled",
        ago(20, 10),
        (item("Ceramic Table Lamp", "Speckled White", "home", "145"),),
        Decimal("145"),
    ),
    OrderFacts(
        "TW-200009",
        "returned",
        ago(50, 10),
        (item("French Press", "8 cup", "kitchen", "39"),),
        Decimal("39"),
        delivered_at=ago(45, 13),
    ),
]


@pytest.mark.parametrize(
    ("text", "action", "number", "items"),
    [
        # the README's demo: the only delivered order holding a jacket, not the newest order
        ("I want to return the jacket from my last order", "return", "TW-200006", ["Sample Sale Denim Jacket"]),
        ("the yellow rain jacket", None, "TW-200002", ["Tidewater Rain Jacket"]),
        ("my trail runners", None, "TW-200003", ["Trail Runners"]),
        # "shoes" fits both pairs; "trail" only the trail runners
        ("a receipt for the trail shoes please", None, "TW-200003", ["Trail Runners"]),
        ("wheres my trial runers??", "track", "TW-200003", ["Trail Runners"]),  # typos
        ("the hoodie i got last week", None, "TW-200004", ["Harbor Hoodie"]),
        ("return the socks", "return", "TW-200004", ["Merino Crew Socks (3-pack)"]),
        ("the sweatshirt", None, "TW-200004", ["Harbor Hoodie"]),  # synonym
        ("my raincoat", None, "TW-200002", ["Tidewater Rain Jacket"]),  # synonym
        ("cancel the blanket", "cancel", "TW-200007", ["Wool Throw Blanket"]),
        ("the $68 one", None, "TW-200004", []),  # amount of an item
        ("the one for 129 dollars", None, "TW-200002", []),  # amount of an order
        ("my last order", None, "TW-200001", []),
        ("my first order", None, "TW-200005", []),
        ("the coffee press refund", "refund_status", "TW-200009", ["French Press"]),
        ("the one on its way", None, "TW-200003", []),
        ("TW-200004", None, "TW-200004", []),
    ],
)
def test_resolve_order_finds_the_one_order_the_cues_fit(text, action, number, items):
    # when
    resolution = resolve_order(text, ORDERS, action=action, now=NOW)
    # then
    assert resolution.kind is ResolutionKind.UNIQUE
    assert resolution.numbers == [number]
    assert [i.product for i in resolution.items] == items


@pytest.mark.parametrize(
    ("text", "action", "numbers"),
    [
        # newest first, so the question lists them as the customer remembers them
        # only a pending order can be cancelled (commerce.services.order_cancel)
        ("cancel my order", "cancel", ["TW-200001", "TW-200007"]),
        ("cancel the one that hasnt shipped", "cancel", ["TW-200001", "TW-200007"]),
        ("the shoes", None, ["TW-200003", "TW-200005"]),
        ("the navy one", None, ["TW-200001", "TW-200004"]),
        ("what did i order yesterday", None, ["TW-200001", "TW-200007"]),
        ("where is my order", "track", ["TW-200001", "TW-200007", "TW-200002", "TW-200003"]),
    ],
)
def test_resolve_order_lists_the_candidates_when_several_fit(text, action, numbers):
    # when
    resolution = resolve_order(text, ORDERS, action=action, now=NOW)
    # then
    assert resolution.kind is ResolutionKind.AMBIGUOUS
    assert resolution.numbers == numbers
    assert resolution.order is None


def test_resolve_order_takes_the_only_order_that_fits_the_action():
    # given one order that can still be cancelled among others
    orders = [o for o in ORDERS if o.number not in {"TW-200001", "TW-200002"}]
    # when
    resolution = resolve_order("please cancel my order", orders, action="cancel", now=NOW)
    # then
    assert resolution.kind is ResolutionKind.UNIQUE
    assert resolution.numbers == ["TW-200007"]
    assert resolution.cues == ("action: cancel",)


@pytest.mark.parametrize(
    "text",
    ["my espreso machine leaks water", "the earbuds order", "return my headphones"],
)
def test_resolve_order_answers_none_for_a_product_they_never_bought(text):
    # when
    resolution = resolve_order(text, ORDERS, now=NOW)
    # then
    assert resolution.kind is ResolutionKind.NONE
    assert resolution.orders == ()


def test_resolve_order_never_reaches_an_order_that_is_not_theirs():
    # when another customer's number is named
    resolution = resolve_order("where is TW-100021", ORDERS, now=NOW)
    # then
    assert resolution.kind is ResolutionKind.NONE
    assert resolution.not_theirs == ("TW-100021",)
    assert resolution.orders == ()


def test_resolve_order_reads_an_ordinal_over_the_listed_choice():
    # given the assistant listed two orders
    listed = ["TW-200004", "TW-200006"]
    # when / then
    assert resolve_order("the second one", ORDERS, listed=listed, now=NOW).numbers == ["TW-200006"]
    assert resolve_order("1", ORDERS, listed=listed, now=NOW).numbers == ["TW-200004"]
    assert resolve_order("the last one", ORDERS, listed=listed, now=NOW).numbers == ["TW-200006"]
    assert resolve_order("the fourth one", ORDERS, listed=listed, now=NOW).kind is ResolutionKind.AMBIGUOUS


def test_resolve_order_with_no_orders_is_none():
    assert resolve_order("where is my order", [], now=NOW).kind is ResolutionKind.NONE


def test_an_everyday_word_is_not_taken_for_a_product_never_bought():
    # "card" is a product noun (gift card) and an everyday word
    resolution = resolve_order("my card expires soon", ORDERS, now=NOW)
    assert resolution.kind is ResolutionKind.AMBIGUOUS


@pytest.mark.parametrize(
    ("text", "newest", "oldest", "label"),
    [
        ("yesterday", 1, 1, "yesterday"),
        ("i ordered it today", 0, 0, "today"),
        ("came 3 days ago", 2, 4, "3 days ago"),
        ("last week", 3, 14, "last week"),
        ("two weeks ago", 11, 17, "2 weeks ago"),
        ("last month", 20, 62, "last month"),
    ],
)
def test_date_window_reads_relative_dates_in_calendar_days(text, newest, oldest, label):
    # when
    lo, hi, said = date_window(text, NOW)
    # then: day n runs from midnight n days ago to the midnight after, with six hours of slack
    assert said == label
    assert lo == MIDNIGHT - timedelta(days=oldest, hours=6)
    assert hi == MIDNIGHT - timedelta(days=newest - 1) + timedelta(hours=6)


def test_date_window_is_none_without_a_date():
    assert date_window("where is my hoodie", NOW) is None


@pytest.mark.django_db
def test_order_facts_for_customer_reads_only_the_customers_own_orders():
    # given two customers with an order each
    alice, other = make_customer(), make_customer()
    jacket = make_variant(price="129.00", name="Tidewater Rain Jacket")
    mine = make_order(customer=alice, status=OrderStatus.DELIVERED, items=[(jacket, 2)])
    make_order(customer=other, status=OrderStatus.PENDING)
    # when
    facts = order_facts_for_customer(customer=alice)
    # then
    assert [f.number for f in facts] == [mine.number]
    assert facts[0].status == "delivered"
    assert facts[0].total == Decimal("258.00")
    assert facts[0].items == (
        ItemFacts(
            product="Tidewater Rain Jacket",
            variant="M",
            category="test",
            quantity=2,
            unit_price=Decimal("129.00"),
            sku=jacket.sku,
            final_sale=False,
        ),
    )
    assert resolve_order("my rain jacket", facts).numbers == [mine.number]


@pytest.mark.django_db
def test_order_facts_for_no_customer_is_empty():
    make_order()
    assert order_facts_for_customer(customer=None) == []


def test_facts_from_data_reads_a_tool_result_back():
    # given orders as the list tool returns them
    data = [
        {
            "number": "TW-300001",
            "status": "delivered",
            "placed_on": "2026-06-01",
            "total": "94.00",
            "items": ["1 x Harbor Hoodie (M / Navy)", "2 x Merino Crew Socks (3-pack) (S/M)"],
        },
        {"number": "TW-300002", "status": "pending", "placed_on": "2026-06-09", "items": [{"name": "Stoneware Mug"}]},
        {"status": "pending"},  # not an order: skipped
    ]
    # when
    facts = facts_from_data(data)
    # then
    assert [f.number for f in facts] == ["TW-300001", "TW-300002"]
    assert facts[0].placed_at == datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert facts[0].total == Decimal("94.00")
    assert [(i.product, i.variant, i.quantity) for i in facts[0].items] == [
        ("Harbor Hoodie", "M / Navy", 1),
        ("Merino Crew Socks (3-pack)", "S/M", 2),
    ]
    assert resolve_order("the navy hoodie", facts, now=NOW).numbers == ["TW-300001"]
    assert resolve_order("cancel the mug", facts, action="cancel", now=NOW).numbers == ["TW-300002"]


def test_resolve_in_context_combines_the_cues_of_earlier_messages():
    # given "the jacket" earlier and "the one i got two weeks ago" now
    texts = ["the one i got two weeks ago", "I want to return the jacket"]
    # when
    resolution = resolve_in_context(texts, ORDERS, now=NOW)
    # then
    assert resolution.numbers == ["TW-200006"]
    assert [i.product for i in resolution.items] == ["Sample Sale Denim Jacket"]


def test_resolve_in_context_never_widens_and_a_number_decides_alone():
    # an order number now decides, whatever was said before
    assert resolve_in_context(["TW-200003", "the jacket"], ORDERS, now=NOW).numbers == ["TW-200003"]
    # an earlier message that fits none of the candidates leaves them as they were
    resolution = resolve_in_context(["the shoes", "hello"], ORDERS, now=NOW)
    assert resolution.numbers == ["TW-200003", "TW-200005"]


@pytest.mark.parametrize(
    ("text", "anchor", "number"),
    [
        # the conversation is on the hoodie order (placed 9 days ago): shoes ordered after it are the trail runners
        ("ok and the shoes i ordered after that one?", "TW-200004", "TW-200003"),
        ("and what about the order before that one", "TW-200003", "TW-200004"),
        ("whats the status of the next one", "TW-200004", "TW-200003"),
        ("the one before?", "TW-200002", "TW-200003"),
        # the phrase names its own anchor: the order placed just before the $129 one
        ("where is the order before the 129 dollar one", None, "TW-200003"),
        # two jackets: the denim one was ordered before the hoodie order, the rain jacket after it
        ("the jacket i got after the hoodie order", None, "TW-200002"),
    ],
)
def test_resolve_order_reads_an_order_placed_before_or_after_another(text, anchor, number):
    # when
    resolution = resolve_order(text, ORDERS, now=NOW, anchor=anchor)
    # then
    assert resolution.kind is ResolutionKind.UNIQUE
    assert resolution.numbers == [number]


def test_before_or_after_with_nothing_to_count_from_is_no_cue():
    # given no order in the conversation, and a phrase that names no order
    # when
    resolution = resolve_order("the shoes i ordered after that one", ORDERS, now=NOW, anchor=None)
    # then the shoes alone are left to choose from
    assert resolution.kind is ResolutionKind.AMBIGUOUS
    assert resolution.numbers == ["TW-200003", "TW-200005"]


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("wheres my trail runners and did the blanket ship yet", ["TW-200003", "TW-200007"]),
        ("status of the raincoat and the lamp pls", ["TW-200002", "TW-200008"]),
        ("where is my jacket", []),  # two jackets, one reference: a question, not two orders
        ("the yellow jacket and the denim jacket", []),  # the same word names both: resolved as usual
        ("the hoodie and the socks", []),  # one order
        ("where is my order", []),
    ],
)
def test_orders_named_apart_are_the_orders_named_each_by_an_item_of_its_own(text, numbers):
    assert [o.number for o in orders_named_apart(text, ORDERS)] == numbers


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("the order from jun 8", datetime(2026, 6, 8, tzinfo=UTC)),
        ("my order from 1st june", datetime(2026, 6, 1, tzinfo=UTC)),
        ("the one i placed on the 3rd", datetime(2026, 6, 3, tzinfo=UTC)),
        ("the thing i ordered last monday", datetime(2026, 6, 8, tzinfo=UTC)),  # NOW is a Wednesday
        ("bought it dec 25", datetime(2025, 12, 25, tzinfo=UTC)),  # a day still ahead this year: last year's
    ],
)
def test_date_window_reads_a_day_on_the_calendar(text, day):
    # when
    lo, hi, _ = date_window(text, NOW)
    # then the day itself, with six hours of slack
    assert (lo, hi) == (day - timedelta(hours=6), day + timedelta(days=1, hours=6))


@pytest.mark.parametrize("text", ["may i return it?", "the 2 mugs", "order 3 of 4"])
def test_words_that_only_look_like_dates_are_none(text):
    assert date_window(text, NOW) is None


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("the order i placed on june 6", "TW-200003"),  # placed ago(4): June 6
        ("the one that came on the 5th", "TW-200004"),  # arrived ago(5): the day it was delivered, not placed
        ("the $92 order", "TW-200004"),  # a round figure: 94.00, the only total within 3%
        ("the size 8 shoes", "TW-200003"),  # US 8, not the US 9 deck shoes
    ],
)
def test_resolve_order_reads_calendar_days_round_amounts_and_sizes(text, number):
    # when
    resolution = resolve_order(text, ORDERS, now=NOW)
    # then
    assert resolution.kind is ResolutionKind.UNIQUE
    assert resolution.numbers == [number]


def test_a_weekday_as_a_deadline_is_no_date():
    assert date_window("i need it by friday", NOW) is None
    assert date_window("will it come before monday?", NOW) is None


def test_resolve_in_context_takes_the_order_named_before_over_the_only_one_the_action_fits():
    # given "the trail runners" earlier, and now a request that names nothing ("can you ship it to ...")
    texts = ["can you ship it to ", "my trail runners"]
    # when the action (an address change) fits only the pending and processing orders
    resolution = resolve_in_context(texts, ORDERS, action="change_address", now=NOW)
    # then the order named is the answer (its tool refuses a shipped order), not another order the action fits
    assert resolution.numbers == ["TW-200003"]
    # and with nothing named before, the action still narrows as it did (the pending orders, newest first)
    resolution = resolve_in_context(["cancel it", "hello"], ORDERS, action="cancel", now=NOW)
    assert resolution.numbers == ["TW-200001", "TW-200007"]


def test_the_action_narrows_what_the_order_named_before_leaves_open():
    # given two orders holding shoes, and "the shoes" said before "cancel it"
    facts = [
        OrderFacts("TW-400001", "pending", ago(1), (item("Trail Runners", "US 8", "footwear", "135"),), Decimal("135")),
        OrderFacts(
            "TW-400002",
            "delivered",
            ago(20),
            (item("Deck Shoes", "US 9", "footwear", "95"),),
            Decimal("95"),
            delivered_at=ago(15),
        ),
        OrderFacts("TW-400003", "pending", ago(2), (item("Stoneware Mug", "Ink", "home", "18"),), Decimal("18")),
    ]
    # when
    resolution = resolve_in_context(["cancel it", "about the shoes"], facts, action="cancel", now=NOW)
    # then the pending order of the two holding shoes, not the mug order
    assert resolution.numbers == ["TW-400001"]


def test_an_item_the_last_order_does_not_hold_is_said_not_to_be_in_it():
    # given "my last order" (TW-200001: tees and a mug) and a jacket, which only older orders hold
    # when
    resolution = resolve_order("I want to return the jacket from my last order", ORDERS, action="return", now=NOW)
    # then the description's misfit is kept to be said, and the last order is not guessed away to another jacket order
    assert resolution.unmet == (("latest: TW-200001", "jacket"),)
    assert "recency: latest" not in resolution.cues


def test_an_item_the_last_order_holds_is_found_there_with_nothing_unmet():
    # when
    resolution = resolve_order("the mug from my last order", ORDERS, now=NOW)
    # then
    assert (resolution.kind, resolution.numbers, resolution.unmet) == (ResolutionKind.UNIQUE, ["TW-200001"], ())


def test_an_amount_no_order_comes_near_is_none_of_theirs():
    # when alice names a $60 order (her orders and items cost 18 to 145, none within 3% of 60)
    resolution = resolve_order("can i get the sixty dollar order cancelled", ORDERS, action="cancel", now=NOW)
    # then nothing of hers is guessed
    assert (resolution.kind, resolution.cues) == (ResolutionKind.NONE, ("amount: 60: not in any order",))
