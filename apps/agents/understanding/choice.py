"""Which of the orders a specialist's tool listed a request acts on: one, a short question, or none of theirs.

`choose_order` is the whole decision the order and returns specialists make when the customer gives no order
number (their `_pick`): the resolver (`references.resolve_in_context`) over the orders the tool listed, then,
when that leaves several or nothing was said, the orders the request fits (`tiers`: the order specialist's
preferred states, most advanced first; the returns specialist's returnable orders). The reference cases
(`apps.evaluation.reference_cases`, `bench/bench_references.py`) measure this same function.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.agents.understanding.numbers import spelled_numbers
from apps.agents.understanding.references import (
    ItemFacts,
    Resolution,
    ResolutionKind,
    facts_from_data,
    named_items,
    resolve_in_context,
)

Row = Mapping[str, Any]
Tier = Callable[[Row], bool]


@dataclass(frozen=True)
class OrderChoice:
    kind: ResolutionKind  # UNIQUE: act on `number`; AMBIGUOUS: ask among `candidates`; NONE: nothing of theirs fits
    resolution: Resolution
    number: str | None = None
    items: tuple[ItemFacts, ...] = ()  # UNIQUE: the items the customer named in that order
    candidates: tuple[Row, ...] = ()  # AMBIGUOUS: the orders to list; NONE: the recent orders to offer
    fitting: bool = True  # AMBIGUOUS: whether the candidates fit the request (else none does: they are every order)


def not_bought_lead(choice: OrderChoice, fallback: str) -> str:
    """How a "none of theirs" answer starts: what they said that none of their orders fits ("None of your recent
    orders has a teapot in it.", "None of your recent orders comes to about $40."), else `fallback`."""
    for cue in choice.resolution.cues if choice.resolution is not None else ():
        if cue.startswith("item: not in any order (") and cue.endswith(")"):
            kind = cue[len("item: not in any order (") : -1]
            return (
                f"None of your recent orders has {_a(kind)}{kind} in it. Which order do you mean? Your recent orders:"
            )
        if cue.endswith(": not in any order") and (said := fits_nothing(cue.removesuffix(": not in any order"), "")):
            return f"{said} Which order do you mean?"
    return fallback


def unmet_lead(resolution: Resolution | None) -> str:
    """What the customer said that the orders holding what they named do not fit, said before the answer ("Your last
    order, TW-100007, has no jacket in it."): the answer then offers the orders that do hold it, never a guess
    passed off as the one they described. "" when everything they said fits."""
    said = [fits_nothing(label, thing) for label, thing in resolution.unmet] if resolution is not None else []
    return " ".join(s for s in said if s)


def fits_nothing(label: str, thing: str) -> str:
    """One sentence saying that no order of theirs (`thing`: holding that product) fits a cue's `label`."""
    kind, _, value = label.partition(": ")
    if kind == "latest":
        return f"Your last order, {value}, has no {thing} in it." if thing else ""
    whose = f"None of your recent orders with {_a(thing)}{thing}" if thing else "None of your recent orders"
    if kind == "amount" and value[:1].isdigit():
        about = "about " if "." not in value else ""
        return f"{whose} comes to {about}${value}."
    if kind == "amount":
        return f"{whose} is {value.replace('over', 'over $').replace('under', 'under $')}."
    if kind == "date":
        return f"{whose} is from {value}."
    if kind == "state" and value.startswith("not "):
        return f"Every one of your recent orders{whose[len('None of your recent orders') :]} has {value[4:]}.".replace(
            " yet.", "."
        )
    if kind == "state":
        return f"{whose} {_STATE_PHRASES.get(value, f'is {value}')}."
    if kind == "paid with":
        return f"{whose} was paid with {value}."
    if kind == "shipping":
        return f"{whose} was sent {value}."
    return ""


_STATE_PHRASES = {
    "payment failed": "has a failed payment",
    "delivery problem": "has a delivery problem",
    "exchange": "has an exchange open",
    "return label": "has a return label",
    "sent back": "was sent back",
}


def _a(kind: str) -> str:
    return "" if kind.endswith("s") or not kind else "an " if kind[:1] in "aeiou" else "a "


# "both", "all my pending orders", "the 2 orders i have that are still pending": every order that fits, not one of them.
_EVERY_RE = re.compile(
    r"\bboth\b|\ball (?:of )?(?:my |the |those |these )?(?:\w+ )?(?:orders|ones|of them)\b|\bevery (?:\w+ )?order\b"
    r"|\b(?:the|my|those|these) (?P<n>\d) (?:\w+ )?(?:orders|ones)\b",
    re.I,
)
_EVERY_AT_MOST = 4


def every_one_meant(text: str, choice: OrderChoice) -> tuple[str, ...]:
    """The orders of a "which order?" choice when the customer asks for all of them ("cancel both", "the 2 orders that
    are still pending": a count must be the number of orders that fit); () when they mean one."""
    described = choice.resolution is not None and len(choice.resolution.orders) == len(choice.candidates)
    if choice.kind is not ResolutionKind.AMBIGUOUS or not (choice.fitting or described):
        return ()  # the orders listed are every order of theirs, not those the request fits or they described
    found = _EVERY_RE.search(spelled_numbers(text))
    n = len(choice.candidates)
    if found is None or not 2 <= n <= _EVERY_AT_MOST or (found.group("n") and int(found.group("n")) != n):
        return ()
    return tuple(str(row["number"]) for row in choice.candidates)


def state_tiers(*states: str) -> tuple[Tier, ...]:
    """One tier per state, in order: "where is my package" means the shipped order, then a processing one..."""
    return tuple((lambda row, s=state: row.get("status") == s) for state in states)


def choose_order(
    texts: Sequence[str],
    rows: Sequence[Row],
    *,
    action: str | None = None,
    tiers: Sequence[Tier] = (),
    anchor: str | None = None,
    single_decides: bool = False,
    described_too: bool = False,
    now: datetime | None = None,
) -> OrderChoice:
    """The order `texts` (the current message first, then earlier ones) mean among the tool's `rows`.

    `single_decides`: a customer with one order means that one whatever they said (the order specialist; the returns
    specialist still says when the item named is not in it). The first tier that holds exactly one of the orders left
    decides; a tier holding several stops there, and the question lists the orders any tier holds. The tiers are a
    guess for a request that describes no order ("where's my order?"); when the customer described one and several
    fit ("my shoes", "the one that hasn't arrived"), the question lists those, unless `described_too` (the returns
    specialist's returnable orders are what the action fits, not a guess).
    """
    facts = facts_from_data(rows)
    if single_decides and len(rows) == 1:
        only = facts[0] if facts else None
        items = tuple(_items(texts, only)) if only else ()
        return OrderChoice(ResolutionKind.UNIQUE, Resolution(ResolutionKind.NONE), str(rows[0]["number"]), items)
    found = resolve_in_context(texts, facts, action=action, anchor=anchor, now=now)
    if found.kind is ResolutionKind.UNIQUE and found.order is not None:
        return OrderChoice(ResolutionKind.UNIQUE, found, found.order.number, found.items)
    if found.kind is ResolutionKind.NONE and found.cues and rows:
        return OrderChoice(ResolutionKind.NONE, found, candidates=tuple(rows))
    left = list(rows)
    if found.kind is ResolutionKind.AMBIGUOUS and len(found.orders) < len(rows):
        narrowed = set(found.numbers)
        left = [row for row in rows if row["number"] in narrowed]
    if not described_too and any(not cue.startswith("action:") for cue in found.cues):
        tiers = ()
    for fits in tiers:
        same = [row for row in left if fits(row)]
        if len(same) == 1:
            number = str(same[0]["number"])
            order = next((f for f in facts if f.number == number), None)
            return OrderChoice(ResolutionKind.UNIQUE, found, number, tuple(_items(texts, order)) if order else ())
        if same:
            break
    fitting = [row for row in left if any(fits(row) for fits in tiers)]
    return OrderChoice(ResolutionKind.AMBIGUOUS, found, candidates=tuple(fitting or left), fitting=bool(fitting))


def _items(texts: Sequence[str], order: Any) -> tuple[ItemFacts, ...]:
    for text in texts:
        items = named_items(text, order)
        if items:
            return items
    return ()
