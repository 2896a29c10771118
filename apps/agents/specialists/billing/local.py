"""The billing specialist, offline: invoices (and a copy by email), payments, failures, saved methods, charges."""

from __future__ import annotations

import re
from typing import Any

from django.utils import timezone
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo

from apps.agents.specialists.billing.methods import asks_by_method, payment_line, payments_by_method
from apps.agents.specialists.billing.orders import invoice_line, items_text, names_an_order, order_meant
from apps.agents.specialists.help_center_local import behaviour_steps
from apps.agents.specialists.local_common import (
    Turn,
    bullet,
    call,
    confirm_question,
    failure_reply,
    not_found_reply,
    read_turn,
    result_or_call,
    say,
)
from apps.agents.specialists.local_rules import open_turn
from apps.agents.specialists.results import day, money
from apps.agents.tool_results import ErrorCode
from apps.agents.understanding.planner import plan_message, split_pieces

INVOICE_RE = re.compile(r"\bINV[-\s]?(\d{4})[-\s]?(\d{6})\b", re.IGNORECASE)


def invoice_number(t: Turn) -> str | None:
    for text in t.recent_texts():
        m = INVOICE_RE.search(text)
        if m:
            return f"INV-{m.group(1)}-{m.group(2)}"
    return None


# What clearly belongs to another specialist: handed back to the router when none of ours matches.
FOREIGN = re.compile(r"\b(?:cancel|track(?:ing)?|returns?|send (?:it|them) back|exchange)\b", re.I)


def behaviour(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    t = read_turn(messages, info)
    # A general question ("my card expires this month, will my order still go through?") goes to the help center.
    opened, intent = open_turn(t, route="billing", topic="billing", foreign=FOREIGN)
    if opened is not None:
        return opened
    by_method = asks_by_method(t) if intent in (None, "payments", "methods", "charges") else None
    if by_method is not None:
        return payments_by_method(t, by_method)  # "show me everything charged to my mastercard"
    intent = intent or ("charges" if t.named_order_now() else "invoice")
    if intent == "invoice" and _copy_asked_later(t.text):
        intent = "send_invoice"
    return {
        "send_invoice": _send_invoice,
        "failed": _failed,
        "methods": _methods,
        "charges": _charges,
        "invoice": _invoice,
        "payments": _payments,
        "card_expiry": _card_expiry,
        "refund_method": _refund_method,
    }[intent](t)


def _copy_asked_later(text: str) -> bool:
    """ "I need the invoice for my kettle for my expenses. Could you email it to me?": the plan of the message is
    one request, the copy by email of what the first sentence asked for (`planner._WRITE_ON_READ`)."""
    if len(split_pieces(text)) < 2:
        return False
    steps = plan_message(text).steps
    return len(steps) == 1 and (steps[0].route, steps[0].intent) == ("billing", "send_invoice")


def _refusal(t: Turn, tool: str, number: str | None) -> ModelResponse | None:
    outcome = t.outcome(tool)
    if outcome is None:
        return None
    if outcome.refused:
        code, message = outcome.refused
        if code == ErrorCode.NOT_FOUND:
            if number and number.upper().startswith("INV"):
                return say(f"I couldn't find invoice {number} on your account. Could you check the number?")
            return say(not_found_reply(number, t))
        return say(message)
    if outcome.data is None and not outcome.awaiting:
        return say(failure_reply())
    return None


def _which_order(t: Turn, purpose: str) -> tuple[str | None, ModelResponse | None]:
    """Without a description of the order: the only one with payments, or a question listing the payments."""
    payments = t.result("list_payments")
    if payments is None:
        return None, call(("list_payments", {}))
    orders: list[str] = []
    for p in payments["payments"]:
        if p["order_number"] not in orders:
            orders.append(p["order_number"])
    if len(orders) == 1:
        return orders[0], None
    if not orders:
        return None, say("I don't see any payments on your account yet.")
    return None, say(
        f"Which order {purpose}? Recent payments:",
        bullet(_payment_line(p) for p in payments["payments"][:5]),
    )


def _payment_line(p: dict[str, Any]) -> str:
    return payment_line(p, spelled=False)


# -- intents --------------------------------------------------------------------------------------
def _send_invoice(t: Turn) -> ModelResponse:
    note = ""
    # The guardrails mask addresses before the model sees them ("[EMAIL]"); either form means "another address".
    if re.search(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b|\[EMAIL\]", t.text, re.IGNORECASE):
        note = (
            "For your security I can only send invoices to the email address on your account, not to an address "
            "given in the chat."
        )
    outcome = t.outcome("send_invoice_copy")
    if outcome is not None:
        if outcome.awaiting:
            return say(note, confirm_question(outcome.awaiting))
        refused = _refusal(t, "send_invoice_copy", invoice_number(t) or t.order_number())
        return refused or say(failure_reply())
    number = invoice_number(t)
    if number is None:
        number, response = order_meant(t, purpose="should I send the invoice for")
        if response is not None:
            return _with_note(note, response)
    return call(("send_invoice_copy", {"number": number}))


def _with_note(note: str, response: ModelResponse) -> ModelResponse:
    if not note or not all(isinstance(p, TextPart) for p in response.parts):
        return response
    return say(note, *(p.content for p in response.parts if isinstance(p, TextPart)))


# What an invoice's state means for the customer.
_INVOICE_STATE = {
    "paid": "paid in full",
    "issued": "issued and not paid yet",
    "void": "void: the order was cancelled, so nothing is owed on it",
    "credited": "credited: the amount was refunded",
}


def _invoice(t: Turn) -> ModelResponse:
    number = invoice_number(t)
    if number is None:
        number, response = order_meant(t, purpose="is the invoice for", required=False, carry=False)
        if response is not None:
            return response
    if number:
        inv = result_or_call(t, "get_invoice", {"number": number}, _refusal(t, "get_invoice", number))
        if isinstance(inv, ModelResponse):
            return inv
        cur = inv["currency"]
        items = items_text(inv)
        state = _INVOICE_STATE.get(inv["status"], inv["status_label"].lower())
        order_state = inv.get("order_status_label", "").lower()
        return say(
            f"Invoice {inv['number']} is for order {inv['order_number']}" + (f" ({items})" if items else "") + ", "
            f"issued {day(inv['issued_on'])}. It is {state}."
            + (f" The order is {order_state}." if order_state and order_state not in state else ""),
            f"Subtotal {money(inv['subtotal'], cur)}, shipping {money(inv['shipping_fee'], cur)}, "
            f"tax {money(inv['tax'], cur)}: total {money(inv['total'], cur)}.",
            "Would you like a copy by email (to the address on your account)?",
        )
    invoices = t.result("list_invoices")
    if invoices is None:
        return call(("list_invoices", {}))
    rows = invoices["invoices"]
    if not rows:
        return say("I don't see any invoices on your account yet.")
    return say(
        "Here are your recent invoices:",
        bullet(invoice_line(i) for i in rows[:5]),
        "Which one would you like? I can show its details or email a copy to the address on your account.",
    )


def _items(t: Turn, number: str) -> str:
    """ " (1 x Wool Throw Blanket)": the order's items, when this turn's invoices listed them."""
    for row in (t.result("list_invoices") or {}).get("invoices") or []:
        if row["order_number"] == number and row.get("items"):
            return f" ({items_text(row)})"
    return ""


def _failed(t: Turn) -> ModelResponse:
    number, response = order_meant(t, purpose="is it about", action="payment_failed", required=False)
    if response is not None:
        return response
    if number is None:
        payments = t.result("list_payments")
        if payments is None:
            return call(("list_payments", {}))
        failed = [p for p in payments["payments"] if p["status"] == "failed"]
        if len(failed) == 1:
            number = failed[0]["order_number"]
        elif not failed:
            return say(
                "I don't see any failed payments on your account. Your recent payments:",
                bullet(_payment_line(p) for p in payments["payments"][:5]) or "(none)",
            )
        else:
            return say("Which order's payment failed?", bullet(_payment_line(p) for p in failed[:5]))
    refusal = _refusal(t, "payment_failure_help", number)
    help_ = result_or_call(t, "payment_failure_help", {"order_number": number}, refusal)
    if isinstance(help_, ModelResponse):
        return help_
    if not help_["failed"]:
        status = help_.get("latest_payment_status") or "no payment yet"
        return say(f"The latest payment on order {help_['order_number']} didn't fail: its status is {status}.")
    methods = t.result("list_payment_methods")
    if methods is None and t.signed_in and not t.outcome("list_payment_methods"):
        return call(("list_payment_methods", {}))
    saved = [m["label"] for m in (methods or {}).get("methods") or []]
    return say(
        f"The payment for order {help_['order_number']}{_items(t, number)} failed: {help_['explanation']} "
        "No money was taken for the failed attempt, and the order waits for payment.",
        "What you can do:\n" + bullet(help_["next_steps"]),
        f"You can pay again from the order page with any of your saved methods: {', '.join(saved)}." if saved else "",
    )


def _methods(t: Turn) -> ModelResponse:
    number, response = order_meant(t, purpose="is it about", required=False)
    if response is not None:
        return response
    if number is not None and (t.named_order_now() or names_an_order(t.text)):
        return _paid_with(t, number)  # "which card did i use for the rain jacket?": that order's payments
    data = t.result("list_payment_methods")
    if data is None:
        if t.outcome("list_payment_methods"):
            return say(failure_reply())
        return call(("list_payment_methods", {}))
    if not data["signed_in"]:
        return say("Saved payment methods belong to an account: please sign in to see them.")
    if not data["methods"]:
        return say("You don't have any saved payment methods on your account.")
    return say(
        "These payment methods are saved on your account:",
        bullet(_method_line(m) for m in data["methods"]),
        "You can add or remove them under Account > Payment methods; I never see full card numbers.",
    )


def _method_line(m: dict[str, Any]) -> str:
    expires = f", expires {m['expires']}" if m["expires"] else ""
    return m["label"] + expires + (" (default)" if m["is_default"] else "")


def _paid_with(t: Turn, number: str) -> ModelResponse:
    outcome = t.outcome("list_payments")
    if outcome is None:
        return call(("list_payments", {"order_number": number}))
    if outcome.refused:
        return _refusal(t, "list_payments", number) or say(failure_reply())
    payments = (outcome.data or {}).get("payments") or []
    if not payments:
        return say(f"There is no payment on order {number}{_items(t, number)} yet.")
    if payments[0]["status"] == "failed":
        return _failed(t)  # "can i pay with paypal instead for the blanket order?": its payment failed
    latest = payments[0]
    method = latest["method"] or "a method that is no longer saved"
    return say(
        f"Order {number}{_items(t, number)} was paid with {method}: "
        f"{money(latest['amount'], latest['currency'])} on {day(latest['date'])}, {latest['status_label'].lower()}.",
        "Earlier payments on it:\n" + bullet(_payment_line(p) for p in payments[1:4]) if len(payments) > 1 else "",
    )


def _card_expiry(t: Turn) -> ModelResponse:
    """ "my card expires this month, will my order still go through?": their cards' dates, then the policy."""
    data = t.result("list_payment_methods")
    if data is None and not t.outcome("list_payment_methods"):
        return call(("list_payment_methods", {}))
    answer = behaviour_steps(t)
    facts = _expiry_facts((data or {}).get("methods") or [])
    if facts and any(isinstance(p, ToolCallPart) and p.tool_name == "create_ticket" for p in answer.parts):
        return say(facts)  # the help center has nothing to add to the dates: no ticket for a question answered
    if any(not isinstance(p, TextPart) for p in answer.parts):
        return answer
    return say(facts, "".join(p.content for p in answer.parts if isinstance(p, TextPart)))


def _refund_method(t: Turn) -> ModelResponse:
    """ "if i send the tote back does the money go to my paypal or my visa?": what the order named was paid with,
    then the help center's rule (refunds go to the payment method used for the order)."""
    number, response = order_meant(t, purpose="is it about", required=False, carry=False)
    if response is not None and any(isinstance(p, ToolCallPart) for p in response.parts):
        return response
    facts = ""
    if number is not None:
        outcome = t.outcome("list_payments")
        if outcome is None:
            return call(("list_payments", {"order_number": number}))
        paid = [p for p in (outcome.data or {}).get("payments") or [] if p["status"] != "failed" and p["method"]]
        if paid:
            facts = (
                f"Order {number}{_items(t, number)} was paid with {paid[0]['method']}, so a refund on it goes back "
                f"to {paid[0]['method']}."
            )
    answer = behaviour_steps(t)
    if any(not isinstance(p, TextPart) for p in answer.parts):
        if facts and any(isinstance(p, ToolCallPart) and p.tool_name == "create_ticket" for p in answer.parts):
            return say(facts)  # the order's payment answers it: no ticket for a question answered
        return answer
    return say(facts, "".join(p.content for p in answer.parts if isinstance(p, TextPart)))


def _expiry_facts(methods: list[dict[str, Any]]) -> str:
    today = timezone.localdate()
    lines = []
    for m in methods:
        if not m["expires"]:
            continue
        month, year = (int(x) for x in m["expires"].split("/"))
        if (year, month) < (today.year, today.month):
            lines.append(f"Your {m['label']} expired at the end of {m['expires']}.")
        elif (year, month) == (today.year, today.month):
            lines.append(f"Your {m['label']} expires at the end of this month ({m['expires']}).")
        else:
            lines.append(f"Your {m['label']} is valid until {m['expires']}.")
    return " ".join(lines)


def _charges(t: Turn) -> ModelResponse:
    number, response = order_meant(t, purpose="should I explain", required=False)
    if response is None and number is None:
        number, response = _which_order(t, "should I explain")
    if response is not None:
        return response
    d = result_or_call(t, "explain_charges", {"order_number": number}, _refusal(t, "explain_charges", number))
    if isinstance(d, ModelResponse):
        return d
    cur = d["currency"]
    lines = [_charge_line(line, cur) for line in d["lines"]]
    lines.append(f"Shipping, {d['shipping_method']}: {money(d['shipping_fee'], cur)}")
    lines.append(f"Tax: {money(d['tax'], cur)}")
    paid = [_payment_line(p) for p in d["payments"]]
    parts = [
        f"Here's what order {d['order_number']} cost, **{money(d['total'], cur)}** in total:",
        bullet(lines),
        " ".join(d["notes"]),
    ]
    if paid:
        parts.append("Payments:\n" + bullet(paid))
    if d["refunded"] not in ("0", "0.00"):
        parts.append(f"{money(d['refunded'], cur)} has been refunded so far.")
    captured = [p for p in d["payments"] if p["status"] in ("captured", "partially_refunded", "refunded")]
    if len(captured) > 1:
        parts.append("There is more than one captured payment on this order; I can open a ticket to have it checked.")
    return say(*parts)


def _charge_line(line: dict[str, Any], currency: str) -> str:
    """ "2 x Merino Crew Socks (L/XL): $52.00 ($26.00 each, before tax)": a line of several gives the price of one."""
    text = f"{line['quantity']} x {line['name']}: {money(line['amount'], currency)}"
    if line["quantity"] > 1 and line.get("unit_price"):
        text += f" ({money(line['unit_price'], currency)} each, before tax)"
    return text


def _payments(t: Turn) -> ModelResponse:
    number = t.order_number()
    outcome = t.outcome("list_payments")
    if outcome is None:
        return call(("list_payments", {"order_number": number} if number else {}))
    if outcome.refused:
        return _refusal(t, "list_payments", number) or say(failure_reply())
    payments = (outcome.data or {}).get("payments") or []
    if not payments:
        where = f" for order {number}" if number else ""
        return say(f"I don't see any payments{where}.")
    return say(
        "Here are your payments:" if not number else f"Payments for order {number}:",
        bullet(_payment_line(p) for p in payments[:8]),
    )
