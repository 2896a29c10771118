"""Order numbers typed with look-alike characters, read against the customer's own orders.

"where is TW-1OOOO3" (letter O for zero) or "can you check on 100003 for me" (no prefix, inside a
sentence) name an order only if the customer has one by that number. `canonical_order_references`
rewrites such a mention to the canonical number ("TW-100003") when, and only when, it is one of
`numbers` (the customer's own orders, `customer_order_numbers`); anything else is left as typed, so
a stranger's number is never made up and a postcode stays a postcode. The turn routes and answers the
rewritten text; the stored message keeps what the customer typed.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from apps.agents.offline.slots import ORDER_DIGITS, ORDER_PREFIX, order_number_spans

# Characters read as digits in an order-number-shaped token: the letter O for 0, I / l / | for 1.
_LOOKALIKE = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1", "|": "1"})
# An optional "tw" prefix, then six characters of digits and look-alikes with at least one real digit.
_CANDIDATE_RE = re.compile(
    rf"(?<![A-Za-z0-9])(?:tw[\s\-_#:.]*)?(?=[0-9OoIl|]*\d)([0-9OoIl|]{{{ORDER_DIGITS}}})(?![A-Za-z0-9])",
    re.IGNORECASE,
)


def canonical_order_references(text: str, numbers: Collection[str]) -> str:
    """`text` with each order-number look-alike that is one of `numbers` written canonically ("TW-100003")."""
    known = {n.upper() for n in numbers}
    if not known:
        return text
    taken = order_number_spans(text)  # already read as order numbers: leave them alone
    out, last = [], 0
    for match in _CANDIDATE_RE.finditer(text):
        if any(start < match.end() and match.start() < end for start, end in taken):
            continue
        number = f"{ORDER_PREFIX}{match.group(1).translate(_LOOKALIKE)}"
        if number not in known:
            continue
        out.append(text[last : match.start()])
        out.append(number)
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def customer_order_numbers(conversation: Any) -> list[str]:
    """The order numbers the conversation may name: the customer's own, or a verified guest's one order."""
    customer = getattr(conversation, "customer", None)
    if customer is not None:
        return list(customer.orders.values_list("number", flat=True))
    order = getattr(conversation, "verified_order", None)
    return [order.number] if order is not None else []


def resolve_order_lookalikes(text: str, conversation: Any) -> str:
    """`canonical_order_references` against the conversation's own orders (read only when the text has a candidate)."""
    if not _CANDIDATE_RE.search(text):
        return text
    return canonical_order_references(text, customer_order_numbers(conversation))
