"""Amounts a customer names an order by: "the $68 one", "the 145.80 order", "the order over $140", "my most
expensive order", and in words: "the forty eight dollar one", "about a hundred and seventy five bucks"
(`numbers.spelled_numbers`) (`cues`, `references.resolve_order`). Amounts are order totals or item prices.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from apps.agents.understanding.numbers import spelled_numbers
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


# "about $120", "around a hundred bucks", "something like 70 dollars", "120-ish", "80 or so": a figure the customer
# says is not exact.
_HEDGE_BEFORE_RE = re.compile(
    r"\b(?:about|around|roughly|approximately|approx\.?|circa|nearly|almost|close to|something like|like)\s*$", re.I
)
_HEDGE_AFTER_RE = re.compile(r"^\s*(?:dollars?|bucks|usd)?\s*(?:-?ish\b|or so\b|give or take\b)", re.I)


def amounts_in(text: str) -> list[Decimal]:
    return [amount for amount, _ in amounts_hedged(text)]


def amounts_hedged(text: str) -> list[tuple[Decimal, bool]]:
    """Each amount the text names, digits or words, with whether the customer says it is not exact ("about")."""
    text = spelled_numbers(text)
    found = []
    for m in _AMOUNT_RE.finditer(text):
        if _THRESHOLD_BEFORE_RE.search(text[max(0, m.start() - 14) : m.start()]):
            continue
        raw = (m.group(1) or m.group(2) or m.group(3)).replace(",", ".")
        try:
            amount = Decimal(raw)
        except InvalidOperation:
            continue
        hedged = bool(
            _HEDGE_BEFORE_RE.search(text[max(0, m.start() - 20) : m.start()]) or _HEDGE_AFTER_RE.match(text[m.end() :])
        )
        found.append((amount, hedged))
    return found


# How far off a figure may be: to the cent, to the dollar for a whole figure, a round figure within 3% ("the $100
# order" for 101.52), and a figure the customer says is approximate within 10% ("about 120 bucks" for 129.60: a
# rounded figure is off by up to half its last digit's step, and people round totals down more than up).
ROUGHLY = Decimal("0.03")
HEDGED = Decimal("0.10")


def amount_fits(order: OrderFacts, amount: Decimal, *, roughly: bool = False, hedged: bool = False) -> bool:
    """The amount is the order's total or an item's price (a whole number to the dollar; `roughly`, a round figure
    within 3%, "the $100 order" for 101.52; `hedged`, a figure said to be approximate, within 10%)."""
    values = [order.total, *(i.unit_price for i in order.items), *(i.unit_price * i.quantity for i in order.items)]
    whole = amount == amount.to_integral_value()
    tolerance = Decimal("0.01") if not whole else Decimal("0.99")
    if roughly and whole:
        tolerance = max(tolerance, amount * ROUGHLY)
    if hedged:
        tolerance = max(tolerance, amount * HEDGED)
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
    for m in _THRESHOLD_RE.finditer(spelled_numbers(text)):
        try:
            amount = Decimal(m.group("amount").replace(",", "."))
        except InvalidOperation:
            continue
        bounds.append((amount, m.group("side").lower() in _ABOVE))
    return bounds


# "my most expensive order", "the cheapest thing i bought", "my second most expensive order", "the 2nd cheapest": the
# order at that place when their orders are ranked by total.
_DEAREST = r"(?:most expensive|priciest|biggest|largest|highest|dearest)"
_CHEAPEST = r"(?:cheapest|least expensive|smallest|lowest)"
_RANK_WORDS = {"second": 1, "2nd": 1, "third": 2, "3rd": 2, "fourth": 3, "4th": 3}
_RANK_RE = re.compile(
    rf"\b(?:(?P<rank>second|2nd|third|3rd|fourth|4th)[\s-]+)?(?:(?P<dear>{_DEAREST})|(?P<cheap>{_CHEAPEST}))\b", re.I
)


def superlative_amount(text: str) -> str | None:
    """ "max" for the dearest order, "min" for the cheapest, None when the text names neither."""
    rank = amount_rank(text)
    return None if rank is None else rank[0]


def amount_rank(text: str) -> tuple[str, int] | None:
    """("max", 0) for "my most expensive order", ("max", 1) for "my second most expensive", ("min", 0) for "the
    cheapest"; None when the text ranks nothing by amount."""
    m = _RANK_RE.search(text)
    if m is None:
        return None
    place = _RANK_WORDS[m.group("rank").lower()] if m.group("rank") else 0
    return ("max" if m.group("dear") else "min"), place


# An amount that says which order is meant: "the $145 order", "the forty dollar one", "my order for $71.28", "the order
# that came to 145.80". The figure picks an order; it says nothing of what is asked about it.
_ORDER_NOUN_AFTER_RE = re.compile(r"^\s*(?:dollars?|bucks|usd)?\s*(?:order|one|purchase|thing)\b", re.I)
_ORDER_PHRASE_BEFORE_RE = re.compile(
    r"\b(?:order|purchase|one)(?P<link>\s+(?:for|of|at|worth|totall?ing|that\s+(?:came\s+to|was|cost))\s*(?:about\s+)?)$",
    re.I,
)


# "the 129.6 one", "that $71.28 charge": a figure the customer points at, after naming several. One decimal counts here
# ("$129.6"): the "the ... one" around it makes it an amount, not a size or a version.
_POINTED_RE = re.compile(
    r"\b(?:the|that|this)\s+[$€£]?\s?(\d{1,6}(?:[.,]\d{1,2})?)\s?(?:dollars?|bucks|usd)?\s*"
    r"(?:one|order|charge|payment|purchase|amount|transaction)\b",
    re.I,
)


def amounts_pointed_at(text: str) -> list[Decimal]:
    """The amounts the text points at as "the X one" / "that X charge" ("..., and the 129.6 one says declined")."""
    found = []
    for m in _POINTED_RE.finditer(spelled_numbers(text)):
        try:
            found.append(Decimal(m.group(1).replace(",", ".")))
        except InvalidOperation:
            continue
    return found


def without_order_amounts(text: str) -> str:
    """The text with each amount that names an order left out ("whats going on with my $145 order" -> "whats going on
    with my order"); an amount that is what the message asks about ("is the 71.28 already taken out?") stays."""
    spelled = spelled_numbers(text)
    out, last = [], 0
    for m in _AMOUNT_RE.finditer(spelled):
        before = _ORDER_PHRASE_BEFORE_RE.search(spelled[: m.start()])
        if _ORDER_NOUN_AFTER_RE.match(spelled[m.end() :]) or before:
            # "the order that came to $145.80" -> "the order": its verb is about the amount, not a delivery
            out.append(spelled[last : before.start("link") if before else m.start()].rstrip())
            last = m.end()
    if not out:
        return text
    out.append(spelled[last:])
    return re.sub(r"\s{2,}", " ", "".join(out)).strip()
