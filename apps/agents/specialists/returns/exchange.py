"""Which variant a customer wants in exchange, resolved against the product's real variants.

"swap it for a small" on a "Harbor Hoodie (M / Navy)" is the "S / Navy" variant: the parts of
the variant the customer names (a size, a colour) change, the others stay as they were. Only
the product's own other variants are candidates (`selectors.exchange_options_for_customer`,
scoped to the session's order); when none or several fit equally, there is no variant and the
policy asks which size or colour is wanted.
"""

from __future__ import annotations

import re
from typing import Any

from apps.agents.deps import SupportDeps
from apps.agents.understanding.vocabulary import SIZE_WORDS
from apps.commerce import selectors
from apps.commerce.models import Order
from apps.commerce.refund_rules import ReturnLine, return_lines_parse


def _tokens(text: str) -> set[str]:
    lowered = text.lower()
    # "it's" is one word: its "s" is not size S
    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", lowered)
    tokens = set(words)
    for phrase, size in SIZE_WORDS.items():  # "small" is S, "extra large" XL
        if re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", lowered):
            tokens.add(size.lower())
    return tokens


def _parts(variant_name: str) -> list[str]:
    return [p.strip().lower() for p in re.split(r"\s*/\s*", variant_name) if p.strip()]


def pick_variant(current: str, names: list[str], wanted: str) -> int | None:
    """The index in `names` (the product's other variants) the wanted words name: most parts named, then most parts
    kept from the `current` variant; None when nothing is named or two fit equally."""
    tokens = _tokens(wanted)
    kept = set(_parts(current))
    scored = []
    for index, name in enumerate(names):
        parts = _parts(name)
        named = sum(1 for p in parts if p in tokens or (p.split() and set(p.split()) <= tokens))
        scored.append((named, sum(1 for p in parts if p in kept), index))
    scored = [s for s in scored if s[0] > 0]
    if not scored:
        return None
    best = max(scored)
    return best[2] if sum(1 for s in scored if s[:2] == best[:2]) == 1 else None


_LETTER_SIZES = ("XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL")
# "a bigger size", or what is wrong with the one they have ("it's too small": the next size up)
_BIGGER_RE = re.compile(
    r"\b(?:bigger|larger|size up|looser|too (?:small|tight|short|snug)|(?:runs|came up|fits?) small)\b", re.IGNORECASE
)
_SMALLER_RE = re.compile(
    r"\b(?:smaller|size down|tighter|too (?:big|large|loose|long|baggy)|(?:runs|came up|fits?) (?:big|large))\b",
    re.IGNORECASE,
)


def _size_rank(part: str) -> float | None:
    """Where a variant's size part stands among sizes ("M" < "L"; "US 9" < "US 10"), None when it is no size."""
    upper = part.strip().upper()
    if upper in _LETTER_SIZES:
        return float(_LETTER_SIZES.index(upper))
    number = re.search(r"\d+(?:\.\d+)?", upper)
    return float(number.group()) if number else None


def step_variant(current: str, names: list[str], text: str) -> int | None:
    """The index in `names` of the next size up ("a bigger size") or down ("smaller") from `current`, the other parts
    of the variant kept; None when the text asks for neither, or the product has no such size."""
    bigger, smaller = bool(_BIGGER_RE.search(text)), bool(_SMALLER_RE.search(text))
    parts = _parts(current)
    rank = _size_rank(parts[0]) if parts else None
    if bigger == smaller or rank is None:
        return None
    steps = []
    for index, name in enumerate(names):
        other = _parts(name)
        theirs = _size_rank(other[0]) if other else None
        if theirs is not None and other[1:] == parts[1:] and (theirs > rank if bigger else theirs < rank):
            steps.append((abs(theirs - rank), index))
    return min(steps)[1] if steps else None


def _pick(current: str, options: list[Any], wanted: str) -> int | None:
    """The variant id the wanted words name (`pick_variant` over the options' names)."""
    index = pick_variant(current, [o.variant_name for o in options], wanted)
    return None if index is None else options[index].variant_id


def exchange_options(deps: SupportDeps, number: str) -> list[dict[str, Any]]:
    """Each item of the order that is not final sale, with the product's other variants and whether each is in
    stock: what the customer can exchange it for."""
    options = selectors.exchange_options_for_customer(
        customer=deps.customer, number=number, only_order=deps.verified_order
    )
    items: dict[int, dict[str, Any]] = {}
    for option in options:
        item = items.setdefault(
            option.order_item_id,
            {
                "order_item_id": option.order_item_id,
                "name": f"{option.product_name} ({option.current_variant})",
                "current_variant": option.current_variant,
                "options": [],
            },
        )
        item["options"].append({"variant": option.variant_name, "in_stock": option.in_stock})
    return list(items.values())


def exchange_lines(deps: SupportDeps, order: Order, items: list[dict[str, Any]], wanted: str) -> list[ReturnLine]:
    """The return lines of `items`, each with the variant `wanted` names for it (None where nothing fits)."""
    lines = return_lines_parse(items) or []
    options = selectors.exchange_options_for_customer(
        customer=deps.customer, number=order.number, only_order=deps.verified_order
    )
    resolved = []
    for line in lines:
        mine = [o for o in options if o.order_item_id == line.order_item_id]
        current = mine[0].current_variant if mine else ""
        variant = _pick(current, mine, wanted) if mine else None
        resolved.append(ReturnLine(line.order_item_id, line.quantity, exchange_variant_id=variant))
    return resolved


def exchange_names(deps: SupportDeps, order: Order, lines: list[ReturnLine]) -> list[str]:
    """What each line is exchanged for, as the customer reads it ("Harbor Hoodie (S / Navy)")."""
    options = selectors.exchange_options_for_customer(
        customer=deps.customer, number=order.number, only_order=deps.verified_order
    )
    names = {o.variant_id: f"{o.product_name} ({o.variant_name})" for o in options}
    return [names[line.exchange_variant_id] for line in lines if line.exchange_variant_id in names]
