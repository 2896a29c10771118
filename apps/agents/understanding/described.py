"""What else a message says about an order besides its items: the date, the state, the amount or a bound on it, the
payment method and the shipping method (`references.resolve_order` narrows by each in turn)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

from apps.agents.understanding.amounts import amount_bounds, amount_fits, amounts_hedged, without_order_amounts
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
    # "the order that came to $145.80" names no delivery: the state is read without the order's amount
    plain = without_order_amounts(text)
    state = next((cue for cue in STATE_CUES if cue.pattern.search(plain)), None)
    if state is not None:
        found.append((f"state: {state.label}", state.fits))
    for amount, hedged in amounts_hedged(text):
        # to the cent (or the dollar) when an order has it; else a round figure within 3% ("the $100 order"); else,
        # when the customer says it is approximate ("about 120 bucks"), within 10%
        if any(amount_fits(o, amount) for o in candidates):
            fits = {}
        elif hedged and not any(amount_fits(o, amount, roughly=True) for o in candidates):
            fits = {"hedged": True}
        else:
            fits = {"roughly": True}
        found.append((f"amount: {amount}", lambda o, a=amount, f=fits: amount_fits(o, a, **f)))
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
    named = payment_method_named(text)
    if named is None:
        return None
    word, fits = named
    return word, lambda o: fits(o.paid_with)


def payment_method_named(text: str) -> tuple[str, Callable[[str], bool]] | None:
    """The payment method the text names ("my mastercard", "paypal") and whether a masked method's label ("Visa ••••
    4242", "PayPal") is that method; None when it names none."""
    lowered = text.lower()
    word = next((w for w in PAYMENT_WORDS if _said(w, lowered)), None)
    if word is None:
        return None
    return word, lambda label: any(_said(w, label.lower()) for w in PAYMENT_WORDS[word])


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


# "the thing i paid for w paypal", "the one on my mastercard", "the order i put on my amex": how an order was paid,
# naming that order. A question about paying ("can i pay with paypal?") names no order and is left alone.
_PAID_WITH_RE = re.compile(
    r"(?:\b(?:i\s+)?(?:paid(?:\s+for)?|put(?:\s+it)?|bought(?:\s+it)?|ordered(?:\s+it)?|got(?:\s+it)?)\s+"
    r"|(?<=\bone\s)|(?<=\border\s)|(?<=\bthing\s))(?:with|w/|w|on|using|via|by|through)\s+(?:my\s+|the\s+|a\s+)?(?:"
    + "|".join(re.escape(w) for w in sorted(PAYMENT_WORDS, key=len, reverse=True))
    + r")\b(?:\s+card)?",
    re.I,
)


def describes_order(text: str) -> bool:
    """Whether the message says which order it means by what the order is: an amount that names it ("the forty dollar
    order") or how it was paid ("the one on my amex"). Such a description is resolved against the customer's orders,
    never replaced by the order the conversation was on."""
    plain = without_order_amounts(text)
    return plain != text or _PAID_WITH_RE.search(plain) is not None


def without_order_descriptions(text: str) -> str:
    """The text without what only says which order is meant: its amount ("my $145 order") and how it was paid ("the
    thing i paid for w paypal"). What is left is what the message asks about that order."""
    plain = _PAID_WITH_RE.sub("", without_order_amounts(text))
    return re.sub(r"\s{2,}", " ", re.sub(r"\s+([,.?!])", r"\1", plain)).strip()
