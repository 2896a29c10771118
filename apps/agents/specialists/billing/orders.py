"""Which order a billing message means, read from the customer's invoices (one per order, with its items).

"the invoice for the deck shoes", "the 145.80 charge", "my bedding order", "the skillet one" name an order
by what it holds, its amount or its date; the invoices the billing tools return carry the order's items,
state and date, so `understanding.resolve_in_context` finds it among the customer's own orders, the same
resolver the order and returns specialists use. A message with no such cue keeps the conversation's order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic_ai.messages import ModelResponse

from apps.agents.specialists.local_common import Turn, bullet, call, say
from apps.agents.specialists.results import day, money
from apps.agents.understanding.amounts import amounts_in, amounts_pointed_at
from apps.agents.understanding.cues import LATEST_RE, OLDEST_RE, names_a_product, text_words
from apps.agents.understanding.references import ResolutionKind, facts_from_data, resolve_in_context

INVOICE_LIMIT = 20


def names_an_order(text: str) -> bool:
    """The message describes an order without its number: a product, an amount, "my last order"."""
    recency = LATEST_RE.search(text) or OLDEST_RE.search(text)
    return bool(names_a_product(text_words(text)) or amounts_in(text) or recency)


def invoice_orders(invoices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The orders the invoices bill, in the shape `facts_from_data` reads."""
    return [
        {
            "number": i["order_number"],
            "status": i.get("order_status") or "",
            "placed_on": i.get("placed_on") or i["issued_on"],
            "items": i.get("items") or [],
            "total": i["total"],
            "shipping_method": i.get("shipping_method") or "",
        }
        for i in invoices
    ]


def items_text(invoice: dict[str, Any]) -> str:
    """ "1 x Trail Runners (US 8), 2 x Stoneware Mug (Ink)": the items an invoice bills."""
    return ", ".join(f"{item['quantity']} x {item['name']}" for item in invoice.get("items") or [])


def invoice_line(i: dict[str, Any]) -> str:
    items = items_text(i)
    return (
        f"{i['number']} for order {i['order_number']}" + (f" ({items})" if items else "") + f": "
        f"{money(i['total'], i['currency'])}, issued {day(i['issued_on'])}, {i['status_label'].lower()}"
    )


def order_meant(
    t: Turn, *, purpose: str, action: str | None = None, required: bool = True, carry: bool = True
) -> tuple[str | None, ModelResponse | None]:
    """The order number the message means, or the response that gets it (a list_invoices call, or a question).

    A number named now decides; a description ("the deck shoes", "the 48.11 credit") is resolved against the
    customer's invoices; otherwise the conversation's order, and an answer to our own list ("the skillet one")
    is read against the invoices listed. Without `required`, no order is an answer (None, None); without
    `carry`, the conversation's order counts only in an answer to our own question ("show me my invoices" after
    a question about TW-100011 lists them all).
    """
    named = t.named_order_now()
    if named:
        return named, None
    texts = t.recent_texts()[:3] if t.answering_us else [t.text]
    described = any(names_an_order(text) for text in texts)
    if not described:
        carried = t.order_number() if carry or t.answering_us else None
        if carried or not required:
            return carried, None
    invoices = t.result("list_invoices")
    if invoices is None:
        return None, call(("list_invoices", {"limit": INVOICE_LIMIT}))
    rows = invoices.get("invoices") or []
    if not rows:
        return None, say("I don't see any orders with an invoice on your account yet.")
    if len(rows) == 1:
        return rows[0]["order_number"], None
    exact = _exact_total(t.text, rows)
    if exact is not None:
        return exact, None  # "i see 145.80 two times": a price to the cent names the order whatever the item words
    found = resolve_in_context(texts, facts_from_data(invoice_orders(rows)), action=action)
    if found.kind is ResolutionKind.UNIQUE and found.order is not None:
        return found.order.number, None
    if not required and not described:
        return None, None
    shown = rows
    if found.kind is ResolutionKind.AMBIGUOUS and found.cues:
        narrowed = set(found.numbers)
        shown = [i for i in rows if i["order_number"] in narrowed] or rows
        lead = f"Which order {purpose}? These fit:"
    elif found.kind is ResolutionKind.NONE and found.cues:
        lead = f"I couldn't find that in your orders. Which order {purpose}?"
    else:
        lead = f"Which order {purpose}? Your recent invoices:"
    return None, say(lead, bullet(invoice_line(i) for i in shown[:5]))


def _exact_total(text: str, invoices: list[dict[str, Any]]) -> str | None:
    """The one order whose total is an amount with cents the message gives, else None."""
    cents = [a for a in amounts_in(text) if a != a.to_integral_value()]
    fits = _totals_fitting(cents, invoices)
    if len(fits) > 1:
        # "$71.28 and $129.6, and the 129.6 one says declined": of several figures, the one the question points at
        fits = _totals_fitting([a for a in amounts_pointed_at(text) if a in cents], invoices)
    return fits.pop() if len(fits) == 1 else None


def _totals_fitting(amounts: list[Decimal], invoices: list[dict[str, Any]]) -> set[str]:
    return {
        i["order_number"] for i in invoices for a in amounts if abs(Decimal(str(i["total"])) - a) < Decimal("0.005")
    }
