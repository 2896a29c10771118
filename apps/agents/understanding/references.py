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
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from apps.agents.offline.slots import extract_order_numbers
from apps.agents.understanding.amounts import amount_rank
from apps.agents.understanding.cues import (
    HEAD_NOUN_SCORE,
    LAST_ORDER_RE,
    LATEST_RE,
    OLDEST_RE,
    SIZE_PATTERN,
    chronological_index,
    item_words,
    match_item,
    names_a_product,
    negated_phrase,
    ordinal_pick,
    relative_order,
    text_words,
)
from apps.agents.understanding.dates import date_window
from apps.agents.understanding.described import other_cues
from apps.agents.understanding.kinds import kinds_not_bought
from apps.agents.understanding.meaning import MeaningMatch, match_by_meaning
from apps.agents.understanding.order_facts import ItemFacts, OrderFacts, facts_from_data, order_facts_for_customer

__all__ = [
    "ACTION_STATES",
    "ItemFacts",
    "OrderFacts",
    "Resolution",
    "ResolutionKind",
    "date_window",
    "facts_from_data",
    "named_items",
    "order_facts_for_customer",
    "orders_named_apart",
    "resolve_in_context",
    "resolve_order",
]

# Order states an action can apply to (the tools still decide; this only narrows the candidates).
ACTION_STATES: dict[str, frozenset[str]] = {
    "cancel": frozenset({"pending"}),  # as `commerce.services.order_cancel`: only a pending order can be cancelled
    "change_address": frozenset({"pending", "processing"}),
    "track": frozenset({"pending", "processing", "shipped"}),
    "return": frozenset({"delivered", "partially_returned"}),
    "exchange": frozenset({"delivered", "partially_returned"}),
    "refund": frozenset({"delivered", "partially_returned", "return_requested", "returned", "shipped"}),
    "refund_status": frozenset({"return_requested", "returned", "partially_returned", "exchange_requested"}),
    "return_status": frozenset({"return_requested", "exchange_requested", "partially_returned", "exchanged"}),
    "payment_failed": frozenset({"pending"}),
}

# When no order fits the action, the ones it could still be meant for: "cancel my order" with nothing pending is the
# order not delivered yet (the tool then says why it can no longer be cancelled).
ACTION_FALLBACK_STATES: dict[str, tuple[frozenset[str], ...]] = {
    "cancel": (frozenset({"processing"}), frozenset({"shipped"})),  # the one least far along first
    "change_address": (frozenset({"shipped"}),),
}

# How much better one order must match than the others to be the one meant (a colour, or a second name word).
_CLEAR_MARGIN = 0.75


class ResolutionKind(StrEnum):
    UNIQUE = "unique"
    AMBIGUOUS = "ambiguous"
    NONE = "none"


@dataclass(frozen=True)
class Resolution:
    kind: ResolutionKind
    orders: tuple[OrderFacts, ...] = ()  # the order (unique) or the candidates (ambiguous)
    items: tuple[ItemFacts, ...] = ()  # for a unique order: the items the text named (empty: none named)
    cues: tuple[str, ...] = ()  # what decided, for the trace: "item: jacket", "date: last week", ...
    not_theirs: tuple[str, ...] = ()  # order numbers named that are not among the customer's orders
    # What the customer said that none of the orders holding what they named fits, said back rather than replaced by
    # a nearby guess: ("amount: 40", "jacket"), ("latest: TW-100007", "jacket") (`choice.unmet_lead`).
    unmet: tuple[tuple[str, str], ...] = ()

    @property
    def order(self) -> OrderFacts | None:
        return self.orders[0] if self.kind is ResolutionKind.UNIQUE else None

    @property
    def numbers(self) -> list[str]:
        return [o.number for o in self.orders]


# --- deciding --------------------------------------------------------------------------------------


def resolve_order(
    text: str,
    orders: Sequence[OrderFacts],
    *,
    action: str | None = None,
    now: datetime | None = None,
    listed: Sequence[str] = (),
    anchor: str | None = None,
) -> Resolution:
    """The order `text` means among the customer's own `orders` (see the module docstring).

    `action` is what the customer wants to do ("cancel", "return", ...: `ACTION_STATES`); `listed` the order
    numbers the assistant just listed, in that order, for "the second one"; `anchor` the order the conversation is
    on, for "the one before that".
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
    unmet: list[tuple[str, str]] = []
    # "not the old shoes": the orders the customer leaves out are no candidates, and their words name nothing else;
    # an order the rest of the message names too stays ("still want the 2 shirts just not the mug": one order).
    negated = negated_phrase(text)
    if negated is not None:
        start, end = negated[1]
        rest = f"{text[:start]} {text[end:]}"
        left_out = [
            o
            for o in orders
            if any(m.score >= HEAD_NOUN_SCORE for m in _matches(negated[0], o))
            and not any(m.score > 0 for m in _matches(rest, o))
        ]
        if left_out and len(left_out) < len(orders):
            text = rest
            candidates = [o for o in orders if o not in left_out]
            cues.append(f"not: {', '.join(o.number for o in left_out)}")
    relative = relative_order(text)
    pivot: OrderFacts | None = None
    earlier = False
    if relative is not None:
        earlier = relative.earlier
        # "the shoes i ordered after that one": the rest of the text narrows, the phrase picks the nearest order.
        if relative.anchor_text:
            named_pivot = resolve_order(relative.anchor_text, orders, now=now)
            pivot = named_pivot.order
        else:
            pivot = by_number.get(anchor or "")
        if pivot is not None:
            start, end = relative.span
            text = f"{text[:start]} {text[end:]}"

    # Ordinal over what the assistant listed: the strongest cue, it answers our own question.
    if listed:
        picked = ordinal_pick(text, [by_number[n] for n in listed if n in by_number])
        if picked is not None:
            return _unique(picked, text, ("ordinal",), ())

    # What the order holds.
    words = text_words(text)
    matches = {o.number: [match_item(text, words, i) for i in o.items] for o in candidates}
    scored = [(o, max((m.score for m in matches[o.number]), default=0.0)) for o in candidates]
    best = max(score for _, score in scored)
    meant: MeaningMatch | None = None
    # Whether the text named a product or a category: then a state, date or amount that fits none of those orders is
    # the customer misremembering it, not a reason to say none of their orders fits.
    named_thing = any(_names_thing(m) for ms in matches.values() for m in ms if m.score > 0)
    if best > 0:
        candidates = [o for o, score in scored if score > 0]
        top = [o for o, score in scored if score == best]
        # A clearly better match (the colour or the exact name) wins over a looser one.
        if len(top) < len(candidates) and best >= min(score for o, score in scored if score > 0) + _CLEAR_MARGIN:
            candidates = top
        else:
            # "the trail shoes": the trail runners fit every word that names them, the deck shoes only "shoes"
            candidates = _fitting_every_word(text, candidates)
        candidates = _holding_every_thing(text, candidates)
        # A colour or size the customer names narrows the items of one kind to those that have it ("the size 8
        # shoes": the US 8 pair, not the US 9).
        described = [o for o in candidates if any(_describes(m) for m in matches[o.number] if m.score > 0)]
        if described and len(described) < len(candidates):
            candidates = described
        elif not described and named_thing and _asked_size(text):
            return Resolution(kind=ResolutionKind.NONE, cues=("size: not in any order",))
        cues.append("item")
    elif names_a_product(words):
        # The customer names a product none of their orders holds: say so rather than guess another order.
        return Resolution(kind=ResolutionKind.NONE, cues=("item: not in any order",))
    else:
        # Words no list knows ("my cafetiere", "the cotton stuff"): the items they mean, by the catalogue's words. The
        # weakest cue: it narrows last, what the date, state or amount left (a stray word is no product). A kind of
        # product they point at that none of their items is ("my parka") is not theirs, not the nearest kind they have.
        meant = match_by_meaning(text, candidates)
        unbought = kinds_not_bought(text, orders, meant)
        if unbought:
            return Resolution(kind=ResolutionKind.NONE, cues=(f"item: not in any order ({unbought[0]})",))

    # What else the customer says about the order narrows; said of no order of theirs at all (no product named),
    # nothing of theirs fits: "the $500 order", "the cancelled one", "the one i paid with paypal".
    for label, fits in other_cues(text, now, candidates):
        kept = [o for o in candidates if fits(o)]
        if kept:
            candidates = kept
            cues.append(label)
        elif not named_thing and not any(fits(o) for o in orders):
            return Resolution(kind=ResolutionKind.NONE, cues=(f"{label}: not in any order",))
        elif named_thing:
            unmet.append((label, _thing_word(text, matches)))

    if meant is not None:
        kept = [o for o in candidates if o.number in meant.items]
        if kept:
            candidates = kept
            cues.extend(meant.cues)

    if pivot is not None:
        at = pivot.placed_at
        side = [o for o in candidates if o.number != pivot.number and (o.placed_at < at) == earlier]
        if side:
            candidates = [min(side, key=lambda o: abs(o.placed_at - at))]
            cues.append(f"{'before' if earlier else 'after'}: {pivot.number}")

    # Descriptions over all their orders come before the action ("did the most expensive thing i ordered arrive?" is
    # the dearest order, delivered or not; the tool then says where it is).
    place = chronological_index(text)
    if len(candidates) > 1 and place is not None:
        ordered = sorted(orders, key=lambda o: o.placed_at)
        if -len(ordered) <= place < len(ordered) and ordered[place] in candidates:
            candidates = [ordered[place]]
            cues.append(f"ordinal: {place}")
    rank = amount_rank(text)
    if len(candidates) > 1 and rank is not None and rank[1] < len(candidates):
        candidates = [sorted(candidates, key=lambda o: o.total, reverse=rank[0] == "max")[rank[1]]]
        cues.append(f"amount: {rank[0]}" + (f" {rank[1] + 1}" if rank[1] else ""))

    # The action narrows to the orders it can apply to, when some can; else to the ones it could be meant for (to
    # cancel with nothing pending: the order not delivered yet, whose cancel the tool then refuses with the reason).
    if action in ACTION_STATES and len(candidates) > 1:
        for states in (ACTION_STATES[action], *ACTION_FALLBACK_STATES.get(action, ())):
            fitting = [o for o in candidates if o.status in states]
            if fitting:
                candidates = fitting
                cues.append(f"action: {action}")
                break

    held = matches.get(max(orders, key=lambda o: o.placed_at).number)
    if named_thing and LAST_ORDER_RE.search(text) and held is not None and not any(m.score > 0 for m in held):
        # "the jacket from my last order" when their last order holds no jacket: said so, the jackets offered
        unmet.append((f"latest: {max(orders, key=lambda o: o.placed_at).number}", _thing_word(text, matches)))
    elif len(candidates) > 1 and LATEST_RE.search(text):
        candidates = [max(candidates, key=lambda o: o.placed_at)]
        cues.append("recency: latest")
    elif len(candidates) > 1 and OLDEST_RE.search(text):
        candidates = [min(candidates, key=lambda o: o.placed_at)]
        cues.append("recency: oldest")
    if len(candidates) == 1:
        found = replace(_unique(candidates[0], text, tuple(cues), ()), unmet=tuple(unmet))
        items = meant.items.get(candidates[0].number, ()) if meant is not None else ()
        return replace(found, items=items) if items and not found.items else found
    candidates.sort(key=lambda o: o.placed_at, reverse=True)
    return Resolution(kind=ResolutionKind.AMBIGUOUS, orders=tuple(candidates), cues=tuple(cues), unmet=tuple(unmet))


def _thing_word(text: str, matches: dict[str, list[Any]]) -> str:
    """The customer's own word for the product they named ("jacket" of "the jacket from my last order")."""
    for cue in (c for ms in matches.values() for m in ms for c in m.cues):
        if cue.startswith(("item: ", "category: ")):
            return cue.split(": ", 1)[1].split("~")[0]
    return ""


def _names_thing(match: Any) -> bool:
    """The match names a thing of theirs: a product, a category, or the colour or size of an item ("the black one")."""
    return any(c.startswith(("item:", "category:", "colour:", "size:")) for c in match.cues)


_SIZE_ASKED_RE = re.compile(rf"\bsize\s+(?:us\s*)?{SIZE_PATTERN}\b", re.I)


def _asked_size(text: str) -> bool:
    """ "the size 11 shoes": the text names a size outright."""
    return _SIZE_ASKED_RE.search(text) is not None


def _by_action_alone(resolution: Resolution) -> bool:
    """Whether nothing but the action (or nothing at all) decided the resolution: the text named no order itself."""
    return all(c.startswith("action:") for c in resolution.cues)


def _fitting_every_word(text: str, candidates: list[OrderFacts]) -> list[OrderFacts]:
    """The candidates one of whose items the text's naming words all fit, when the others' items fit only some of
    those words; all of them otherwise (two jackets for "the jacket" stay two)."""
    said = {o.number: [item_words(text, i) for i in o.items] for o in candidates}
    every = set().union(*(w for words in said.values() for w in words))
    whole = [o for o in candidates if any(words == every for words in said[o.number])]
    return whole if whole and len(whole) < len(candidates) else candidates


def _holding_every_thing(text: str, candidates: list[OrderFacts]) -> list[OrderFacts]:
    """Of orders named by one item each, the one holding every item the text names ("the shirts and the mug": the
    order with both, not another with a mug alone); all of them when none holds more than the others."""
    said = {o.number: set().union(*(item_words(text, i) for i in o.items)) for o in candidates}
    most = max((len(words) for words in said.values()), default=0)
    whole = [o for o in candidates if len(said[o.number]) == most]
    if len(whole) < len(candidates) and all(said[o.number] <= said[whole[0].number] for o in candidates):
        return whole
    return candidates


def _describes(match: Any) -> bool:
    return any(c.startswith(("colour:", "size:")) for c in match.cues)


def _matches(text: str, order: OrderFacts) -> list[Any]:
    words = text_words(text)
    return [match_item(text, words, item) for item in order.items]


def named_items(text: str, order: OrderFacts) -> tuple[ItemFacts, ...]:
    """The items of `order` the text names, best first (empty when it names none in particular)."""
    words = text_words(text)
    scored = [(item, match_item(text, words, item).score) for item in order.items]
    best = max((s for _, s in scored), default=0.0)
    if best <= 0:
        return ()
    return tuple(item for item, s in scored if s == best)


def orders_named_apart(text: str, orders: Sequence[OrderFacts]) -> list[OrderFacts]:
    """The orders the text names each by an item of its own ("wheres my backpack and did the earbuds ship"): two or
    more when one message asks about several orders; none otherwise, or when the same words name items of two orders
    ("my jacket" and two jackets: one reference to ask about, not two orders)."""
    words = text_words(text)
    hits: list[tuple[OrderFacts, float, set[str]]] = []
    for order in orders:
        scores = [(match_item(text, words, item).score, item) for item in order.items]
        named = [(score, item) for score, item in scores if score >= HEAD_NOUN_SCORE]
        if named:
            said = set().union(*(item_words(text, item) for _, item in named))
            hits.append((order, max(score for score, _ in named), said))
    kept = []
    for order, score, said in hits:
        rivals = [s for o, s, w in hits if o is not order and w & said]
        if any(s == score for s in rivals):
            return []  # the same words name two orders as well: one reference, to ask about
        if not any(s > score for s in rivals):  # "raincoat" names the rain jacket better than the denim one
            kept.append(order)
    return kept if len(kept) > 1 else []


def _unique(order: OrderFacts, text: str, cues: tuple[str, ...], not_theirs: tuple[str, ...]) -> Resolution:
    return Resolution(
        kind=ResolutionKind.UNIQUE, orders=(order,), items=named_items(text, order), cues=cues, not_theirs=not_theirs
    )


def _now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def resolve_in_context(
    texts: Sequence[str],
    orders: Sequence[OrderFacts],
    *,
    action: str | None = None,
    now: datetime | None = None,
    listed: Sequence[str] = (),
    anchor: str | None = None,
) -> Resolution:
    """`resolve_order` over a conversation: the current message first (`texts[0]`), then earlier ones, newest first.

    "the jacket" two messages ago and "from my last order" now are one reference: each earlier message narrows
    what the later ones left open, and never widens it. A message naming an order number decides alone.
    """
    if not texts:
        return resolve_order("", orders, action=action, now=now, listed=listed)
    resolution = resolve_order(texts[0], orders, action=action, now=now, listed=listed, anchor=anchor)
    if len(texts) > 1 and _by_action_alone(resolution):
        # "can you ship it to ..." after "the day pack order": what the customer said names the order, and the action
        # narrows only what that leaves open (else the only order the action fits would win over the one they named)
        named = resolve_in_context(texts[1:], orders, now=now)
        if named.kind is not ResolutionKind.NONE and not _by_action_alone(named) and named.cues:
            if named.kind is ResolutionKind.UNIQUE:
                return named
            resolution = resolve_order(texts[0], named.orders, action=action, now=now)
            return resolution if resolution.kind is not ResolutionKind.NONE else named
    for text in texts[1:]:
        if resolution.kind is not ResolutionKind.AMBIGUOUS:
            break
        narrower = resolve_order(text, resolution.orders, action=action, now=now)
        if narrower.kind is ResolutionKind.UNIQUE or (
            narrower.kind is ResolutionKind.AMBIGUOUS and len(narrower.orders) < len(resolution.orders)
        ):
            resolution = replace(
                resolution,
                kind=narrower.kind,
                orders=narrower.orders,
                items=narrower.items or resolution.items,
                cues=resolution.cues + narrower.cues,
            )
    if resolution.kind is ResolutionKind.UNIQUE and not resolution.items:
        for text in texts:
            items = named_items(text, resolution.orders[0])
            if items:
                return replace(resolution, items=items)
    return resolution
