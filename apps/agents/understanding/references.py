"""Which of the customer's own orders (and items) a message means.

`resolve_order(text, orders, action=..., now=..., listed=...)` reads the cues a
customer gives instead of an order number: product names, synonyms and typos
("my espreso machine"), categories ("the shoes"), colours and sizes ("the yellow
one", "the medium hoodie"), relative dates ("last week", "3 days ago",
"yesterday"), recency ("my last order"), states ("the one that hasn't
shipped"), amounts ("the $68 one"), ordinals over a list the assistant showed
("the second one"), and, when nothing else narrows it, the action itself (the
only order that can be cancelled is the one to cancel).

It only ever sees `OrderFacts` built from the customer's own orders
(`order_facts_for_customer`, through the commerce selectors, or from a tool's
result), so a cue can never reach somebody else's order. The answer is one of:
`unique` (one order, with the items the text named), `ambiguous` (the
candidates, to ask one short question), or `none` (nothing of theirs fits).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from rapidfuzz import fuzz

from apps.agents.offline.slots import extract_order_numbers
from apps.agents.understanding.vocabulary import (
    CATEGORY_WORDS,
    EVERYDAY_NOUNS,
    NOUN_SYNONYMS,
    SIZE_WORDS,
    STOPWORDS,
)

# Order states an action can apply to (the tools still decide; this only narrows the candidates).
ACTION_STATES: dict[str, frozenset[str]] = {
    "cancel": frozenset({"pending", "processing"}),
    "change_address": frozenset({"pending", "processing"}),
    "track": frozenset({"pending", "processing", "shipped"}),
    "return": frozenset({"delivered", "partially_returned"}),
    "exchange": frozenset({"delivered", "partially_returned"}),
    "refund": frozenset({"delivered", "partially_returned", "return_requested", "returned", "shipped"}),
    "refund_status": frozenset({"return_requested", "returned", "partially_returned", "exchange_requested"}),
    "return_status": frozenset({"return_requested", "exchange_requested", "partially_returned", "exchanged"}),
    "payment_failed": frozenset({"pending"}),
}

_FUZZY_CUTOFF = 85.0
# How much better one order must match than the others to be the one meant (a colour, or a second name word).
_CLEAR_MARGIN = 0.75
_WORD_RE = re.compile(r"[a-z0-9][a-z0-9'\-]*")


class ResolutionKind(StrEnum):
    UNIQUE = "unique"
    AMBIGUOUS = "ambiguous"
    NONE = "none"


@dataclass(frozen=True)
class ItemFacts:
    product: str  # "Tidewater Rain Jacket"
    variant: str  # "M / Yellow"
    category: str  # "apparel"
    quantity: int = 1
    unit_price: Decimal = Decimal("0")
    sku: str = ""
    final_sale: bool = False

    @property
    def label(self) -> str:
        return f"{self.product} ({self.variant})" if self.variant else self.product


@dataclass(frozen=True)
class OrderFacts:
    number: str
    status: str
    placed_at: datetime
    items: tuple[ItemFacts, ...]
    total: Decimal = Decimal("0")
    delivered_at: datetime | None = None
    shipped_at: datetime | None = None


@dataclass(frozen=True)
class Resolution:
    kind: ResolutionKind
    orders: tuple[OrderFacts, ...] = ()  # the order (unique) or the candidates (ambiguous)
    items: tuple[ItemFacts, ...] = ()  # for a unique order: the items the text named (empty: none named)
    cues: tuple[str, ...] = ()  # what decided, for the trace: "item: jacket", "date: last week", ...
    not_theirs: tuple[str, ...] = ()  # order numbers named that are not among the customer's orders

    @property
    def order(self) -> OrderFacts | None:
        return self.orders[0] if self.kind is ResolutionKind.UNIQUE else None

    @property
    def numbers(self) -> list[str]:
        return [o.number for o in self.orders]


# --- reading the text ------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("es") and word[-3] in "sxz":
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _similar(a: str, b: str) -> bool:
    a, b = _singular(a), _singular(b)
    if a == b:
        return True
    if min(len(a), len(b)) < 5:  # short words: exact only ("cap" is not "cup")
        return False
    return fuzz.ratio(a, b) >= _FUZZY_CUTOFF


def _phrase_in(phrase: str, text: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", text) is not None


@dataclass
class _ItemMatch:
    score: float = 0.0
    cues: list[str] = field(default_factory=list)


_BED_SIZES = frozenset({"queen", "king", "double", "single", "twin", "small", "large", "one size"})


def _variant_parts(variant: str) -> tuple[set[str], set[str]]:
    """(sizes, colours) named in a variant such as "M / Navy", "US 8", "Queen / White", "L/XL"."""
    sizes: set[str] = set()
    colours: set[str] = set()
    for part in re.split(r"\s*/\s*", variant):
        part = part.strip()
        if not part:
            continue
        if re.fullmatch(r"(?:XXS|XS|S|M|L|XL|XXL)", part, re.I) or re.search(r"\d", part) or part.lower() in _BED_SIZES:
            sizes.add(part.lower())
        else:
            colours.update(w for w in _words(part))
    return sizes, colours


def _sizes_in(text: str) -> set[str]:
    lowered = text.lower()
    found: set[str] = set()
    for phrase, token in sorted(SIZE_WORDS.items(), key=lambda kv: -len(kv[0])):
        if _phrase_in(phrase, lowered):
            found.add(token.lower())
            lowered = lowered.replace(phrase, " ")
    for m in re.finditer(r"\bsize\s+(us\s*)?([a-z]{1,3}|\d{1,2}(?:\.5)?)\b", lowered):
        found.add(("us " if m.group(1) else "") + m.group(2))
        found.add(m.group(2))
    for m in re.finditer(r"\bus\s*(\d{1,2}(?:\.5)?)\b", lowered):
        found.add(f"us {m.group(1)}")
    return found


def _match_item(text: str, words: list[str], item: ItemFacts) -> _ItemMatch:
    """How strongly the text names this item (0: not at all)."""
    match = _ItemMatch()
    lowered = text.lower()
    content = [w for w in words if w not in STOPWORDS and not w.isdigit()]
    name_words = [w for w in _words(item.product) if w not in STOPWORDS and not re.fullmatch(r"\d+\w{0,2}", w)]
    head = name_words[-1] if name_words else ""
    for word in name_words:
        weight = 2.0 if word == head else 1.0
        if any(_similar(word, w) for w in content):
            match.score += weight
            match.cues.append(f"item: {word}")
            continue
        compound = next((w for w in content if len(word) >= 4 and len(w) > len(word) and word in w), None)
        if compound:  # "raincoat" names the rain jacket, "backpack" the day pack
            match.score += weight * 0.8
            match.cues.append(f"item: {compound}~{word}")
            continue
        for synonym in NOUN_SYNONYMS.get(word, ()):
            if (" " in synonym and _phrase_in(synonym, lowered)) or (
                " " not in synonym and any(_similar(synonym, w) for w in content)
            ):
                match.score += weight * 0.8
                match.cues.append(f"item: {synonym}~{word}")
                break
    if match.score == 0:
        for phrase in CATEGORY_WORDS.get(item.category, ()):
            if _phrase_in(phrase, lowered):
                match.score += 1.0
                match.cues.append(f"category: {phrase}")
                break
    sizes, colours = _variant_parts(item.variant)
    named_colours = [c for c in colours if c in content]
    if named_colours:
        match.score += 1.0
        match.cues.append(f"colour: {named_colours[0]}")
    named_sizes = sizes & _sizes_in(text)
    if named_sizes:
        match.score += 0.5
        match.cues.append(f"size: {sorted(named_sizes)[0]}")
    return match


_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "a couple of": 2}
_NUM = r"(\d{1,3}|a|an|one|two|three|four|five|six|a couple of)"


def _count(token: str) -> int:
    return int(token) if token.isdigit() else _NUMBER_WORDS[token]


def date_window(text: str, now: datetime) -> tuple[datetime, datetime, str] | None:
    """The span of time a relative date in the text names, in calendar days, widened by a few hours for time zones.

    Vague counts are read loosely: "3 days ago" is 2 to 4 days ago, "last week" 3 to 14 days ago.
    """
    lowered = text.lower()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    slack = timedelta(hours=6)

    def days(newest: int, oldest: int, label: str) -> tuple[datetime, datetime, str]:
        # Day 0 is today; day n runs from midnight n days ago to midnight n-1 days ago.
        return midnight - timedelta(days=oldest) - slack, midnight - timedelta(days=newest - 1) + slack, label

    if re.search(r"\bday before yesterday\b", lowered):
        return days(2, 2, "the day before yesterday")
    if re.search(r"\byesterday\b|\blast night\b", lowered):
        return days(1, 1, "yesterday")
    if re.search(r"\btoday\b|\bthis morning\b", lowered):
        return days(0, 0, "today")
    m = re.search(rf"\b{_NUM} days? ago\b", lowered)
    if m:
        n = _count(m.group(1))
        return days(max(1, n - 1), n + 1, f"{n} days ago")
    if re.search(r"\b(?:a )?(?:few|couple(?: of)?) days ago\b", lowered):
        return days(1, 5, "a few days ago")
    m = re.search(rf"\b{_NUM} weeks? ago\b", lowered)
    if m:
        n = _count(m.group(1))
        return days(7 * n - 4, 7 * n + 5, f"{n} weeks ago")
    if re.search(r"\blast week\b", lowered):
        return days(3, 14, "last week")
    if re.search(r"\bthis week\b", lowered):
        return days(0, 7, "this week")
    m = re.search(rf"\b{_NUM} months? ago\b", lowered)
    if m:
        n = _count(m.group(1))
        return days(30 * n - 12, 30 * n + 15, f"{n} months ago")
    if re.search(r"\blast month\b", lowered):
        return days(20, 62, "last month")
    if re.search(r"\bthis month\b", lowered):
        return days(0, 31, "this month")
    return None


_STATE_CUES: tuple[tuple[re.Pattern[str], frozenset[str], str], ...] = (
    (
        re.compile(
            r"\b(?:has ?n[o']?t|have ?n[o']?t|not(?: yet)?|never|isn'?t|wasn'?t) (?:been )?(?:yet )?"
            r"(?:shipped|sent|dispatched|gone out|left)\b|\bnot (?:shipped|sent) yet\b|"
            r"\bstill (?:pending|processing)\b|\b(?:pending|processing) one\b|\bunshipped\b",
            re.I,
        ),
        frozenset({"pending", "processing"}),
        "not shipped yet",
    ),
    (
        re.compile(
            r"\b(?:on (?:its|the) way|in transit|out for delivery|(?:that|which|one) (?:has |was )?shipped)\b", re.I
        ),
        frozenset({"shipped"}),
        "on its way",
    ),
    (
        re.compile(
            r"\b(?:that|which|one) (?:was |got |has been )?(?:delivered|arrived|came)\b|\bthe delivered\b", re.I
        ),
        frozenset({"delivered", "partially_returned"}),
        "delivered",
    ),
    (re.compile(r"\bcancel+ed (?:one|order)\b|\bthe cancel+ed\b", re.I), frozenset({"cancelled"}), "cancelled"),
    (
        re.compile(r"\b(?:the )?(?:one|order) i (?:sent back|returned)\b|\breturned (?:one|order)\b", re.I),
        frozenset({"returned", "partially_returned", "return_requested"}),
        "returned",
    ),
)

_AMOUNT_RE = re.compile(
    r"(?:[$€£]\s?(\d+(?:[.,]\d{1,2})?))|(?:\b(\d+(?:[.,]\d{1,2})?)\s?(?:usd|dollars?|bucks|eur|euros?|pounds?)\b)",
    re.I,
)
_ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
}
_ORDINAL_RE = re.compile(
    r"\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)(?: one| order| item)?\b|"
    r"\b(?:number|no\.?|#)\s?([1-5])\b|^\s*([1-5])\s*[.)]?\s*$",
    re.I,
)
_LATEST_RE = re.compile(
    r"\b(?:my|the) (?:last|latest|newest|most recent|recent)(?: \w+)? (?:order|purchase|one|delivery|parcel)\b|"
    r"\b(?:last|latest|most recent) (?:order|purchase)\b|\bi (?:just|recently) (?:ordered|bought|placed)\b",
    re.I,
)
_OLDEST_RE = re.compile(r"\b(?:my|the) (?:first|oldest|earliest) (?:order|purchase)\b", re.I)


def amounts_in(text: str) -> list[Decimal]:
    found = []
    for m in _AMOUNT_RE.finditer(text):
        raw = (m.group(1) or m.group(2)).replace(",", ".")
        try:
            found.append(Decimal(raw))
        except InvalidOperation:
            continue
    return found


def _amount_fits(order: OrderFacts, amount: Decimal) -> bool:
    values = [order.total, *(i.unit_price for i in order.items), *(i.unit_price * i.quantity for i in order.items)]
    tolerance = Decimal("0.01") if amount != amount.to_integral_value() else Decimal("0.99")
    return any(abs(v - amount) <= tolerance for v in values)


# --- deciding --------------------------------------------------------------------------------------


def resolve_order(
    text: str,
    orders: Sequence[OrderFacts],
    *,
    action: str | None = None,
    now: datetime | None = None,
    listed: Sequence[str] = (),
) -> Resolution:
    """The order `text` means among the customer's own `orders` (see the module docstring).

    `action` is what the customer wants to do ("cancel", "return", ...: `ACTION_STATES`); `listed` the order
    numbers the assistant just listed, in that order, for "the second one".
    """
    if not orders:
        return Resolution(kind=ResolutionKind.NONE)
    by_number = {o.number: o for o in orders}
    named = extract_order_numbers(text)
    if named:
        mine = [by_number[n] for n in named if n in by_number]
        not_theirs = tuple(n for n in named if n not in by_number)
        if not mine:
            return Resolution(kind=ResolutionKind.NONE, cues=("number: not theirs",), not_theirs=not_theirs)
        if len(mine) == 1:
            return _unique(mine[0], text, ("number",), not_theirs)
        return Resolution(kind=ResolutionKind.AMBIGUOUS, orders=tuple(mine), cues=("numbers",), not_theirs=not_theirs)

    now = now or _now()
    candidates = list(orders)
    cues: list[str] = []

    # Ordinal over what the assistant listed: the strongest cue, it answers our own question.
    if listed:
        picked = _ordinal_pick(text, [by_number[n] for n in listed if n in by_number])
        if picked is not None:
            return _unique(picked, text, ("ordinal",), ())

    # What the order holds.
    words = _words(text)
    scored = [(o, max((_match_item(text, words, i).score for i in o.items), default=0.0)) for o in candidates]
    best = max(score for _, score in scored)
    if best > 0:
        candidates = [o for o, score in scored if score > 0]
        top = [o for o, score in scored if score == best]
        # A clearly better match (the colour or the exact name) wins over a looser one.
        if len(top) < len(candidates) and best >= min(score for o, score in scored if score > 0) + _CLEAR_MARGIN:
            candidates = top
        cues.append("item")
    elif _names_a_product(words):
        # The customer names a product none of their orders holds: say so rather than guess another order.
        return Resolution(kind=ResolutionKind.NONE, cues=("item: not in any order",))

    # When: relative dates narrow, but a date that fits nothing is vague speech, not a refusal.
    window = date_window(text, now)
    if window is not None:
        lo, hi, label = window
        dated = [o for o in candidates if any(d and lo <= d <= hi for d in (o.placed_at, o.delivered_at, o.shipped_at))]
        if dated:
            candidates = dated
            cues.append(f"date: {label}")

    for pattern, states, label in _STATE_CUES:
        if pattern.search(text):
            in_state = [o for o in candidates if o.status in states]
            if in_state:
                candidates = in_state
                cues.append(f"state: {label}")
            break

    for amount in amounts_in(text):
        priced = [o for o in candidates if _amount_fits(o, amount)]
        if priced:
            candidates = priced
            cues.append(f"amount: {amount}")
            break

    # The action narrows to the orders it can apply to, when some can.
    if action in ACTION_STATES and len(candidates) > 1:
        fitting = [o for o in candidates if o.status in ACTION_STATES[action]]
        if fitting:
            candidates = fitting
            cues.append(f"action: {action}")

    if len(candidates) > 1 and _LATEST_RE.search(text):
        candidates = [max(candidates, key=lambda o: o.placed_at)]
        cues.append("recency: latest")
    elif len(candidates) > 1 and _OLDEST_RE.search(text):
        candidates = [min(candidates, key=lambda o: o.placed_at)]
        cues.append("recency: oldest")

    if len(candidates) == 1:
        return _unique(candidates[0], text, tuple(cues), ())
    candidates.sort(key=lambda o: o.placed_at, reverse=True)
    return Resolution(kind=ResolutionKind.AMBIGUOUS, orders=tuple(candidates), cues=tuple(cues))


def _product_nouns() -> frozenset[str]:
    vocabulary = set(NOUN_SYNONYMS)
    for synonyms in NOUN_SYNONYMS.values():
        vocabulary.update(s for s in synonyms if " " not in s)
    return frozenset(vocabulary - EVERYDAY_NOUNS)


_PRODUCT_NOUNS = _product_nouns()


def _names_a_product(words: list[str]) -> bool:
    """Whether the words name a kind of product the shop sells (a noun of its vocabulary, not an everyday word)."""
    content = [w for w in words if w not in STOPWORDS and w not in EVERYDAY_NOUNS]
    return any(w in _PRODUCT_NOUNS or any(_similar(w, noun) for noun in _PRODUCT_NOUNS) for w in content)


def _ordinal_pick(text: str, listed: list[OrderFacts]) -> OrderFacts | None:
    if not listed:
        return None
    m = _ORDINAL_RE.search(text)
    if m is None:
        return None
    if m.group(1):
        word = m.group(1).lower()
        index = -1 if word == "last" else _ORDINALS[word]
    else:
        index = int(m.group(2) or m.group(3)) - 1
    if -len(listed) <= index < len(listed):
        return listed[index]
    return None


def named_items(text: str, order: OrderFacts) -> tuple[ItemFacts, ...]:
    """The items of `order` the text names, best first (empty when it names none in particular)."""
    words = _words(text)
    scored = [(item, _match_item(text, words, item).score) for item in order.items]
    best = max((s for _, s in scored), default=0.0)
    if best <= 0:
        return ()
    return tuple(item for item, s in scored if s == best)


def _unique(order: OrderFacts, text: str, cues: tuple[str, ...], not_theirs: tuple[str, ...]) -> Resolution:
    return Resolution(
        kind=ResolutionKind.UNIQUE, orders=(order,), items=named_items(text, order), cues=cues, not_theirs=not_theirs
    )


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


# --- building the facts ----------------------------------------------------------------------------


def order_facts_for_customer(*, customer: Any, limit: int = 20) -> list[OrderFacts]:
    """The customer's own recent orders as `OrderFacts` (through the commerce selectors; none for no customer)."""
    from django.db.models import prefetch_related_objects

    from apps.commerce.selectors import order_list_for_customer

    orders = order_list_for_customer(customer=customer, limit=limit)
    prefetch_related_objects(orders, "items__variant__product", "shipments")
    return [
        OrderFacts(
            number=o.number,
            status=o.status,
            placed_at=o.placed_at,
            delivered_at=o.delivered_at,
            shipped_at=min((s.shipped_at for s in o.shipments.all() if s.shipped_at), default=None),
            total=o.total,
            items=tuple(
                ItemFacts(
                    product=i.product_name,
                    variant=i.variant_name,
                    category=i.variant.product.category,
                    quantity=i.quantity,
                    unit_price=i.unit_price,
                    sku=i.sku,
                    final_sale=i.final_sale,
                )
                for i in o.items.all()
            ),
        )
        for o in orders
    ]


_ITEM_LINE_RE = re.compile(r"^\s*(?:(\d+)\s*x\s+)?(.+?)(?:\s+\(([^()]*)\))?\s*$")


def _day(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    from datetime import UTC, date

    parsed = date.fromisoformat(str(value)[:10])
    return datetime(parsed.year, parsed.month, parsed.day, 12, tzinfo=UTC)


def _item_from_data(raw: Any) -> ItemFacts:
    if isinstance(raw, str):  # "2 x Harbor Hoodie (M / Navy)"
        m = _ITEM_LINE_RE.match(raw)
        quantity, product, variant = (m.group(1), m.group(2), m.group(3)) if m else (None, raw, None)
        return ItemFacts(product=product, variant=variant or "", category="", quantity=int(quantity or 1))
    name = str(raw.get("product_name") or raw.get("name") or "")
    variant = str(raw.get("variant_name") or "")
    if not variant and not raw.get("product_name"):
        m = _ITEM_LINE_RE.match(name)
        if m and m.group(3):
            name, variant = m.group(2), m.group(3)
    return ItemFacts(
        product=name,
        variant=variant,
        category=str(raw.get("category") or ""),
        quantity=int(raw.get("quantity") or 1),
        unit_price=Decimal(str(raw.get("unit_price") or "0")),
        sku=str(raw.get("sku") or ""),
        final_sale=bool(raw.get("final_sale", False)),
    )


def facts_from_data(orders: Iterable[Mapping[str, Any]]) -> list[OrderFacts]:
    """`OrderFacts` from the orders a tool returned (`number`, `status`, `placed_on`, `items`, `total`, ...).

    The local model knows the customer's orders only from its own tool calls; this reads them back. Items may be
    the summary's strings ("2 x Harbor Hoodie (M / Navy)") or the detail's objects.
    """
    facts = []
    for order in orders:
        placed = _day(order.get("placed_at") or order.get("placed_on"))
        if not order.get("number") or placed is None:
            continue
        facts.append(
            OrderFacts(
                number=str(order["number"]),
                status=str(order.get("status") or ""),
                placed_at=placed,
                items=tuple(_item_from_data(i) for i in order.get("items") or ()),
                total=Decimal(str(order.get("total") or "0")),
                delivered_at=_day(order.get("delivered_at") or order.get("delivered_on")),
                shipped_at=_day(order.get("shipped_at") or order.get("shipped_on")),
            )
        )
    return facts


def resolve_in_context(
    texts: Sequence[str],
    orders: Sequence[OrderFacts],
    *,
    action: str | None = None,
    now: datetime | None = None,
    listed: Sequence[str] = (),
) -> Resolution:
    """`resolve_order` over a conversation: the current message first (`texts[0]`), then earlier ones, newest first.

    "the jacket" two messages ago and "from my last order" now are one reference: each earlier message narrows
    what the later ones left open, and never widens it. A message naming an order number decides alone.
    """
    if not texts:
        return resolve_order("", orders, action=action, now=now, listed=listed)
    resolution = resolve_order(texts[0], orders, action=action, now=now, listed=listed)
    for text in texts[1:]:
        if resolution.kind is not ResolutionKind.AMBIGUOUS:
            break
        narrower = resolve_order(text, resolution.orders, action=action, now=now)
        if narrower.kind is ResolutionKind.UNIQUE or (
            narrower.kind is ResolutionKind.AMBIGUOUS and len(narrower.orders) < len(resolution.orders)
        ):
            resolution = Resolution(
                kind=narrower.kind,
                orders=narrower.orders,
                items=narrower.items or resolution.items,
                cues=resolution.cues + narrower.cues,
                not_theirs=resolution.not_theirs,
            )
    if resolution.kind is ResolutionKind.UNIQUE and not resolution.items:
        for text in texts:
            items = named_items(text, resolution.orders[0])
            if items:
                return Resolution(
                    kind=resolution.kind,
                    orders=resolution.orders,
                    items=items,
                    cues=resolution.cues,
                    not_theirs=resolution.not_theirs,
                )
    return resolution
