"""What else a message says about an order besides its items: the date, the state, the amount or a bound on it, the
payment method and the shipping method (`references.resolve_order` narrows by each in turn)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

from apps.agents.understanding.amounts import amount_bounds, amount_fits, amounts_in
from apps.agents.understanding.dates import ARRIVED_RE, PLACED_RE, date_window
from apps.agents.understanding.order_facts import OrderFacts
from apps.agents.understanding.states import STATE_CUES
from apps.agents.understanding.vocabulary import PAYMENT_WORDS, SHIPPING_WORDS


def other_cues(
    text: str, now: datetime, candidates: Sequence[OrderFacts]
) -> list[tuple[str, Callable[[OrderFacts], bool]]]:
    """The cues besides the items, each as (label, whether an order fits it): the date, the state, the amount or a
    bound on it, the payment method and the shipping method."""
    found: list[tuple[str, Callable[[OrderFacts], bool]]] = []
    window = date_window(text, now)
    if window is not None:
        lo, hi, label = window
        found.append((f"date: {label}", lambda o: any(d and lo <= d <= hi for d in _dates_meant(o, text))))
    state = next((cue for cue in STATE_CUES if cue.pattern.search(text)), None)
    if state is not None:
        found.append((f"state: {state.label}", state.fits))
    for amount in amounts_in(text):
        # to the cent (or the dollar) when an order has it; else a round figure within 3% ("the $100 order")
        exact = any(amount_fits(o, amount) for o in candidates)
        found.append((f"amount: {amount}", lambda o, a=amount, r=not exact: amount_fits(o, a, roughly=r)))
        break
    for amount, above in amount_bounds(text):
        found.append(
            (f"amount: {'over' if above else 'under'} {amount}", lambda o, a=amount, up=above: (o.total > a) == up)
        )
    # Only when the orders say how they were paid and sent (a tool's rows may not: then the cue is not read).
    for label, fits, known in (
        ("paid with", _paid_with, any(o.paid_with for o in candidates)),
        ("shipping", _shipped_by, any(o.shipping_method for o in candidates)),
    ):
        said = fits(text) if known else None
        if said is not None:
            found.append((f"{label}: {said[0]}", said[1]))
    return found


def _paid_with(text: str) -> tuple[str, Callable[[OrderFacts], bool]] | None:
    """ "the one on my amex", "the order i paid with paypal": the payment method's word, and whether an order's latest
    payment used it."""
    lowered = text.lower()
    word = next((w for w in PAYMENT_WORDS if _said(w, lowered)), None)
    if word is None:
        return None
    return word, lambda o: any(_said(w, o.paid_with.lower()) for w in PAYMENT_WORDS[word])


def _shipped_by(text: str) -> tuple[str, Callable[[OrderFacts], bool]] | None:
    """ "the express one": the shipping method's word, and whether an order was sent that way."""
    lowered = text.lower()
    word = next((w for w in SHIPPING_WORDS if _said(w, lowered)), None)
    if word is None:
        return None
    return word, lambda o: any(_said(w, o.shipping_method.lower()) for w in SHIPPING_WORDS[word])


def _said(phrase: str, lowered: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", lowered) is not None


def _dates_meant(order: OrderFacts, text: str) -> tuple[datetime | None, ...]:
    if PLACED_RE.search(text):
        return (order.placed_at,)
    if ARRIVED_RE.search(text):
        return (order.delivered_at,)
    return (order.placed_at, order.delivered_at, order.shipped_at)
