"""Amounts a customer names an order by: "the $68 one", "the 145.80 order", "the order over $140", "my most
expensive order" (`cues`, `references.resolve_order`). Amounts are order totals or item prices.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from apps.agents.understanding.order_facts import OrderFacts

# "$68", "68 dollars", and a number with cents ("the 145.80 order", "700,92"): cents make it an amount.
_AMOUNT_RE = re.compile(
    r"(?:[$€£]\s?(\d+(?:[.,]\d{1,2})?))|(?:\b(\d+(?:[.,]\d{1,2})?)\s?(?:usd|dollars?|bucks|eur|euros?|pounds?)\b)"
    r"|(?<![\w.,-])(\d{1,6}[.,]\d{2})(?![\w.,-]*\d)(?!\s?%)",
    re.I,
)
# "over $50", "more than 100 dollars": a threshold of a rule, not the amount of an order.
_THRESHOLD_BEFORE_RE = re.compile(
    r"\b(?:over|under|above|below|more than|less than|at least|up to|upwards of)\s*$", re.IGNORECASE
)


def amounts_in(text: str) -> list[Decimal]:
    found = []
    for m in _AMOUNT_RE.finditer(text):
        if _THRESHOLD_BEFORE_RE.search(text[max(0, m.start() - 14) : m.start()]):
            continue
        raw = (m.group(1) or m.group(2) or m.group(3)).replace(",", ".")
        try:
            found.append(Decimal(raw))
        except InvalidOperation:
            continue
    return found


def amount_fits(order: OrderFacts, amount: Decimal, *, roughly: bool = False) -> bool:
    """The amount is the order's total or an item's price (a whole number to the dollar; `roughly`, a round figure
    within 3%, "the $100 order" for 101.52)."""
    values = [order.total, *(i.unit_price for i in order.items), *(i.unit_price * i.quantity for i in order.items)]
    whole = amount == amount.to_integral_value()
    tolerance = Decimal("0.01") if not whole else Decimal("0.99")
    if roughly and whole:
        tolerance = max(tolerance, amount * Decimal("0.03"))
    return any(abs(v - amount) <= tolerance for v in values)


_THRESHOLD_RE = re.compile(
    r"\b(?P<side>over|above|more than|at least|upwards of|under|below|less than|cheaper than)\s*"
    r"(?:[$€£]\s?)?(?P<amount>\d+(?:[.,]\d{1,2})?)(?:\s?(?:usd|dollars?|bucks|eur|euros?|pounds?))?"
    r"(?=\s+(?:one|order|purchase|bucks|dollars)\b|\s*[?.!,]|\s*$)",
    re.IGNORECASE,
)
_ABOVE = frozenset(("over", "above", "more than", "at least", "upwards of"))


def amount_bounds(text: str) -> list[tuple[Decimal, bool]]:
    """ "the order over $140", "the one that was more than 100 bucks": (amount, above) for each bound the text puts on
    an order's total (`above` False: under it). A rule's threshold followed by anything else ("over $50 ships free")
    is not read."""
    bounds = []
    for m in _THRESHOLD_RE.finditer(text):
        try:
            amount = Decimal(m.group("amount").replace(",", "."))
        except InvalidOperation:
            continue
        bounds.append((amount, m.group("side").lower() in _ABOVE))
    return bounds


# "my most expensive order", "the cheapest thing i bought": the order with the highest or lowest total.
_DEAREST_RE = re.compile(r"\b(?:most expensive|priciest|biggest|largest|highest|dearest)\b", re.I)
_CHEAPEST_RE = re.compile(r"\b(?:cheapest|least expensive|smallest|lowest)\b", re.I)


def superlative_amount(text: str) -> str | None:
    """ "max" for the dearest order, "min" for the cheapest, None when the text names neither."""
    if _DEAREST_RE.search(text):
        return "max"
    if _CHEAPEST_RE.search(text):
        return "min"
    return None
