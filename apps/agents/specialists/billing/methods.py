"""Charges by the payment method the customer names: "show me everything charged to my mastercard".

The payments are the customer's own (`list_payments`), each with its method masked to the brand and last four digits
(`Visa •••• 4242`); nothing more of a card is ever shown. Payments made with the method named are listed; when none
was, the answer says which methods their orders were paid with and lists those payments, rather than "not found".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pydantic_ai.messages import ModelResponse

from apps.agents.specialists.billing.orders import names_an_order
from apps.agents.specialists.local_common import Turn, bullet, call, say
from apps.agents.specialists.results import day, money
from apps.agents.understanding.described import payment_method_named

_LAST_FOUR_RE = re.compile(r"\s*[•*·.]+\s*(\d{4})\b")


def method_label(masked: str) -> str:
    """ "Visa •••• 4242" -> "Visa ending 4242" (only ever the last four digits); "PayPal" stays."""
    return _LAST_FOUR_RE.sub(r" ending \1", masked).strip()


def payment_line(p: dict[str, Any], *, spelled: bool = True) -> str:
    """One payment as a list line; `spelled` says "Visa ending 4242", else the masked "Visa •••• 4242" as stored."""
    label = method_label(p["method"]) if spelled else p["method"]
    method = f" with {label}" if p["method"] else ""
    amount = money(p["amount"], p["currency"])
    line = f"{p['order_number']}: {amount}{method} on {day(p['date'])}, **{p['status_label'].lower()}**"
    if p.get("failure_code"):
        line += f" ({p['failure_code'].replace('_', ' ')})"  # "failed (insufficient funds)": why, where it is listed
    if p["refunded_amount"] not in ("0", "0.00"):
        line += f" ({money(p['refunded_amount'], p['currency'])} refunded)"
    return line


def asks_by_method(t: Turn) -> tuple[str, Callable[[str], bool]] | None:
    """The payment method the message names when it names no order (by number, item, amount or date): it asks about
    the charges made that way. None otherwise."""
    if t.named_order_now() or names_an_order(t.text):
        return None
    return payment_method_named(t.text)


def payments_by_method(t: Turn, named: tuple[str, Callable[[str], bool]]) -> ModelResponse:
    word, fits = named
    outcome = t.outcome("list_payments")
    if outcome is None:
        return call(("list_payments", {}))
    payments = (outcome.data or {}).get("payments") or []
    if not payments:
        return say("I don't see any payments on your account yet.")
    with_it = [p for p in payments if p["method"] and fits(p["method"])]
    if with_it:
        return say(
            f"Charges to your {method_label(with_it[0]['method'])}:", bullet(payment_line(p) for p in with_it[:8])
        )
    used = list(dict.fromkeys(method_label(p["method"]) for p in payments if p["method"]))
    paid = f"your orders were paid with your {_joined(used)}" if used else "none of your payments shows a saved method"
    return say(
        f"I don't see any charge to a {_brand(word)} on your account: {paid}.",
        "Here are your recent payments:",
        bullet(payment_line(p) for p in payments[:5]),
        "Is one of these the charge you mean?",
    )


def _brand(word: str) -> str:
    return {"paypal": "PayPal", "amex": "Amex", "american express": "American Express"}.get(word, word.title())


def _joined(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + f" and {labels[-1]}"
