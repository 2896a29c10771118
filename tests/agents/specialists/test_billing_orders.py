"""The billing specialist finds the order a message means in the customer's invoices (items, amounts, dates)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.agents.specialists.billing.methods import payment_line
from apps.agents.specialists.billing.orders import invoice_orders, names_an_order
from apps.agents.understanding.amounts import amounts_in
from apps.agents.understanding.references import ResolutionKind, facts_from_data, resolve_order


def invoice(order: str, status: str, placed: str, items: list[tuple[str, str]], total: str) -> dict:
    return {
        "number": f"INV-2026-{order[3:]}",
        "order_number": order,
        "order_status": status,
        "order_status_label": status.title(),
        "placed_on": placed,
        "issued_on": placed,
        "items": [{"quantity": 1, "name": name, "category": category} for name, category in items],
        "status": "paid",
        "status_label": "Paid",
        "total": total,
        "currency": "USD",
    }


INVOICES = [
    invoice("TW-300007", "pending", "2026-06-09", [("Wool Throw Blanket (Grey Check)", "home")], "129.60"),
    invoice("TW-300005", "delivered", "2026-04-01", [("Deck Shoes (US 9)", "footwear")], "102.60"),
    invoice("TW-300003", "shipped", "2026-06-06", [("Trail Runners (US 8)", "footwear")], "145.80"),
    invoice("TW-300009", "returned", "2026-04-20", [("French Press (8 cup)", "home")], "48.11"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("could you email me the invoice for the deck shoes", "TW-300005"),
        ("i see a charge of 145.80 on my visa, what was that for?", "TW-300003"),
        ("theres a 48.11 credit on my card, what is it", "TW-300009"),
        ("can i pay the blanket order with paypal instead", "TW-300007"),
        ("you charged me twice for the running shoes, i see 145.80 two times", "TW-300003"),
    ],
)
def test_an_order_named_by_item_or_amount_is_found_in_the_invoices(text: str, expected: str) -> None:
    # given the customer's invoices read as their orders
    orders = facts_from_data(invoice_orders(INVOICES))
    # when
    resolution = resolve_order(text, orders)
    # then
    assert resolution.kind is ResolutionKind.UNIQUE
    assert resolution.numbers == [expected]


def test_a_product_the_customer_never_bought_is_no_order_of_theirs() -> None:
    orders = facts_from_data(invoice_orders(INVOICES))

    resolution = resolve_order("the invoice for my tent", orders)

    assert resolution.kind is ResolutionKind.NONE
    assert resolution.numbers == []


@pytest.mark.parametrize(
    ("text", "described"),
    [
        ("email me the receipt for the espresso machine", True),
        ("whats the 14.99 on my order", True),
        ("send me the invoice for my last order", True),
        ("i need an invoice", False),
        ("which cards do i have saved", False),
    ],
)
def test_names_an_order_is_a_description_without_a_number(text: str, described: bool) -> None:
    assert names_an_order(text) is described


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("a charge of 145.80 on my visa", [Decimal("145.80")]),
        ("the $68 one", [Decimal("68")]),
        ("why is there 13% tax", []),
        ("13.00% seems high", []),
        ("order TW-100003 from 2026-06-01", []),
        ("version 1.2.30", []),
        ("if my order is over $50 is shipping free", []),
        ("anything more than 100 dollars", []),
    ],
)
def test_a_bare_price_with_cents_is_an_amount_and_a_rate_is_not(text: str, amounts: list[Decimal]) -> None:
    assert amounts_in(text) == amounts


def test_a_failed_payment_listed_says_why():
    # given a payment that failed for insufficient funds
    p = {
        "order_number": "TW-100007",
        "amount": "129.60",
        "currency": "USD",
        "status_label": "Failed",
        "refunded_amount": "0.00",
        "method": "Visa •••• 4242",
        "date": "2026-12-07",
        "failure_code": "insufficient_funds",
    }
    # when
    line = payment_line(p)
    # then
    assert line == "TW-100007: $129.60 with Visa ending 4242 on December 7, 2026, **failed** (insufficient funds)"
