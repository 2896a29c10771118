"""The cues besides the items (`understanding.references`): dates, states, amounts and their bounds, the payment and
shipping methods, orders counted over time or around another, and what fits none of the customer's orders."""

from dataclasses import replace
from datetime import timedelta

import pytest

from apps.agents.understanding.choice import choose_order, state_tiers
from apps.agents.understanding.cues import relative_order
from apps.agents.understanding.references import ResolutionKind, resolve_order
from tests.agents.understanding.test_references import NOW, ORDERS, ago

# The same customer, with how each order was paid and sent, and when the delivered ones shipped.
PAID = {"TW-200002": "PayPal", "TW-200006": "PayPal"}
FAILED = {"TW-200007"}
REFUNDED = {"TW-200009"}
ORDERS_PAID = [
    replace(
        o,
        paid_with=PAID.get(o.number, "Visa •••• 4242"),
        payment_status="failed" if o.number in FAILED else "refunded" if o.number in REFUNDED else "captured",
        shipping_method="Express (1-2 business days)" if o.number == "TW-200003" else "Standard (3-5 business days)",
        shipped_at=o.shipped_at or (o.delivered_at - timedelta(days=2) if o.delivered_at else None),
    )
    for o in ORDERS
]


@pytest.mark.parametrize(
    ("text", "action", "number"),
    [
        ("the order I paid express shipping for", None, "TW-200003"),
        ("the one where my payment failed", None, "TW-200007"),
        ("the order you refunded", None, "TW-200009"),
        ("the lamp order i then cancelled", None, "TW-200008"),
        ("my most expensive order", None, "TW-200008"),
        ("the cheapest thing i bought", None, "TW-200009"),
        ("what was the second order i ever placed?", None, "TW-200009"),
        ("my third order", None, "TW-200008"),
        ("the second most recent one", None, "TW-200007"),
        ("the order i placed just before the trail runners, was that the hoodie one?", None, "TW-200004"),
        ("the order after the hoodie", None, "TW-200003"),
        ("the one that was delivered 5 days ago", None, "TW-200004"),
        ("the order that arrived in the last seven days", None, "TW-200004"),
        ("is my espresso machine the one", None, None),
    ],
)
def test_a_cue_besides_the_items_names_one_order(text, action, number):
    # when
    resolution = resolve_order(text, ORDERS_PAID, action=action, now=NOW)
    # then
    if number is None:
        assert (resolution.kind, resolution.cues) == (ResolutionKind.NONE, ("item: not in any order",))
    else:
        assert (resolution.kind, resolution.numbers) == (ResolutionKind.UNIQUE, [number])


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("the order I paid with paypal", ["TW-200006", "TW-200002"]),
        ("the order over $130", ["TW-200008", "TW-200003"]),
        ("the one under 40 bucks", ["TW-200009"]),
        ("the one that hasn't arrived yet", ["TW-200001", "TW-200007", "TW-200002", "TW-200003"]),
        ("change the items in my pending order", ["TW-200001", "TW-200007"]),
    ],
)
def test_a_cue_several_orders_fit_leaves_them_all(text, numbers):
    # when
    resolution = resolve_order(text, ORDERS_PAID, now=NOW)
    # then
    assert sorted(resolution.numbers) == sorted(numbers)


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("the $500 order", "amount: 500: not in any order"),
        ("the order i paid with my amex", "paid with: amex: not in any order"),
        ("the order I placed over a year ago", "date: 1 years ago: not in any order"),
        ("my exchange, how is it going", "state: exchange: not in any order"),
        ("the size 11 shoes", "size: not in any order"),
    ],
)
def test_a_cue_no_order_of_theirs_fits_is_none_of_theirs(text, cue):
    # when
    resolution = resolve_order(text, ORDERS_PAID, now=NOW)
    # then
    assert (resolution.kind, resolution.cues) == (ResolutionKind.NONE, (cue,))


def test_a_named_item_outweighs_a_state_that_does_not_fit_it():
    # when the customer misremembers the hoodie's state
    resolution = resolve_order("where is my hoodie that's on its way", ORDERS_PAID, action="track", now=NOW)
    # then the hoodie's order, whose state the answer will give
    assert resolution.numbers == ["TW-200004"]


def test_a_cue_a_tool_cannot_tell_is_not_read():
    # given orders whose rows say nothing of how they were paid
    # when
    resolution = resolve_order("the order i paid with paypal", ORDERS, now=NOW)
    # then nothing is ruled out
    assert (resolution.kind, len(resolution.orders)) == (ResolutionKind.AMBIGUOUS, len(ORDERS))


@pytest.mark.parametrize(
    "text", ["will it arrive before the weekend?", "can i return it after my trip", "i paid express shipping"]
)
def test_a_word_that_only_contains_a_product_word_names_no_order_nor_an_anchor(text):
    # when
    resolution = resolve_order(text, ORDERS_PAID, now=NOW)
    # then no item cue ("express" holds "press", the French Press's head noun)
    assert "item" not in resolution.cues
    assert relative_order(text) is None


def test_cancel_with_nothing_pending_means_the_order_not_delivered_yet():
    # given a customer whose only order on its way is shipped
    orders = [o for o in ORDERS_PAID if o.status not in ("pending", "processing")]
    # when
    resolution = resolve_order("can you cancel my order please?", orders, action="cancel", now=NOW)
    # then the shipped one (the tool says why it can no longer be cancelled)
    assert resolution.numbers == ["TW-200003"]


def _row(order, **extra):
    return {"number": order.number, "status": order.status, "placed_on": order.placed_at.date().isoformat(), **extra}


def test_the_order_specialists_state_preference_guesses_only_when_nothing_was_described():
    # given the rows list_orders gives: the trail runners shipped, the deck shoes delivered
    rows = [
        _row(ORDERS[2], items=["1 x Trail Runners (US 8)"], categories=["footwear"]),
        _row(ORDERS[4], items=["1 x Deck Shoes (US 9)"], categories=["footwear"]),
    ]
    tiers = state_tiers("pending", "processing", "shipped")
    # when the customer describes both ("my shoes") or neither ("my order")
    described = choose_order(["show me my shoes"], rows, tiers=tiers)
    bare = choose_order(["show me my order"], rows, tiers=tiers)
    # then the first asks which of the two, the second guesses the shipped one
    assert (described.kind, [r["number"] for r in described.candidates]) == (
        ResolutionKind.AMBIGUOUS,
        ["TW-200003", "TW-200005"],
    )
    assert (bare.kind, bare.number) == (ResolutionKind.UNIQUE, "TW-200003")


def test_a_category_named_with_a_typo_is_read_from_the_rows_categories():
    # given
    rows = [
        _row(ORDERS[2], items=["1 x Trail Runners (US 8)"], categories=["footwear"]),
        _row(ORDERS[8], items=["1 x French Press (8 cup)"], categories=["kitchen"]),
    ]
    # when
    choice = choose_order(["the kitchin stuff"], rows)
    # then
    assert (choice.kind, choice.number, [i.product for i in choice.items]) == (
        ResolutionKind.UNIQUE,
        "TW-200009",
        ["French Press"],
    )


def test_delivered_dates_in_the_rows_name_an_order():
    # given rows carrying when each order arrived
    rows = [
        _row(o, items=[i.product for i in o.items], delivered_on=o.delivered_at.date().isoformat())
        for o in ORDERS
        if o.delivered_at
    ]
    # when
    choice = choose_order(["the parcel that got delivered ten days ago"], rows, now=NOW)
    # then
    assert choice.number == "TW-200006"
    assert ago(10).date().isoformat() == rows[2]["delivered_on"]


def test_a_parcel_the_carrier_has_a_problem_with_names_its_order():
    # given the trail runners' parcel held at the depot
    orders = [replace(o, shipment_status="exception" if o.number == "TW-200003" else "") for o in ORDERS_PAID]
    # when
    resolution = resolve_order("the courier says they couldn't deliver my package", orders, now=NOW)
    # then
    assert resolution.numbers == ["TW-200003"]


def test_an_invoice_row_says_how_its_order_was_sent():
    # given the rows billing's list_invoices gives, in the resolver's shape
    from apps.agents.specialists.billing.orders import invoice_orders

    invoices = [
        {"order_number": "TW-1", "issued_on": "2026-06-01", "total": "10.00", "shipping_method": "Express (1-2 days)"},
        {"order_number": "TW-2", "issued_on": "2026-06-02", "total": "12.00", "shipping_method": "Standard (3-5 days)"},
    ]
    # when
    choice = choose_order(["invoice for the order with express shipping"], invoice_orders(invoices), now=NOW)
    # then
    assert (choice.kind, choice.number) == (ResolutionKind.UNIQUE, "TW-1")


def test_amounts_that_name_an_order_are_left_out_and_amounts_asked_about_stay():
    from apps.agents.understanding.amounts import without_order_amounts

    assert without_order_amounts("whats going on with my $145 order") == "whats going on with my order"
    assert without_order_amounts("can i get the forty dollar order cancelled") == "can i get the order cancelled"
    assert without_order_amounts("the 145.80 one please") == "the one please"
    assert without_order_amounts("where is the order that came to $145.80") == "where is the order"
    assert without_order_amounts("is the 71.28 already taken out?") == "is the 71.28 already taken out?"
    assert without_order_amounts("what was the $237.30 charge") == "what was the $237.30 charge"


def test_how_an_order_was_paid_is_left_out_when_it_names_the_order_and_kept_in_a_question_about_paying():
    from apps.agents.understanding.described import without_order_descriptions

    assert without_order_descriptions("the thing i paid for w paypal, the one that still hasnt come") == (
        "the thing, the one that still hasnt come"
    )
    assert without_order_descriptions("the one on my amex, where is it?") == "the one, where is it?"
    assert without_order_descriptions("can i pay with paypal?") == "can i pay with paypal?"
    assert without_order_descriptions("show me everything charged to my mastercard") == (
        "show me everything charged to my mastercard"
    )
