"""The returns specialist's refund and return status, offline: what stands, what is still due, what comes next."""

from __future__ import annotations

from typing import Any

from pydantic_ai.messages import ModelResponse

from apps.agents.specialists.local_common import (
    Turn,
    bullet,
    call,
    failure_reply,
    no_orders_reply,
    not_found_reply,
    order_line,
    say,
)
from apps.agents.specialists.results import day, money
from apps.agents.specialists.returns.refusals import why_not
from apps.agents.tool_results import ErrorCode
from apps.agents.understanding.references import ResolutionKind, facts_from_data, resolve_order


# -- what can still go back ---
def returnable_reply(t: Turn) -> ModelResponse:
    """ "What can I still return?": the customer's orders that can go back, what they hold and until when."""
    listed = t.result("list_returnable_orders")
    if listed is None:
        return say(failure_reply()) if t.outcome("list_returnable_orders") else call(("list_returnable_orders", {}))
    orders = listed.get("orders") or []
    if not orders:
        return say(no_orders_reply(t, "I don't see any orders on your account, so there's nothing to return yet."))
    returnable = [o for o in orders if o["returnable"]]
    if not returnable:
        return say(
            "None of your recent orders can be returned right now:",
            bullet(f"{order_line(o)}: {why_not(o)}" for o in orders[:5]),
            "If one of them needs an exception, I can connect you with a person from our team.",
        )
    return say(
        "You can still return items from these orders:",
        bullet(f"{order_line(o)}, returnable until {day(o['window_ends_on'])}" for o in returnable[:5]),
        "Final-sale items can't be returned. Would you like to start a return for one of them?",
    )


# -- refund status ---------------------------------------------------------------------------------
def status_reply(t: Turn, *, number: str | None = None, lead: str = "", labels: bool = True) -> ModelResponse:
    """The refunds, refund requests and returns of the customer (of order `number`, else the one the conversation
    names), `lead` said first; `labels`: with each return's label reference."""
    outcome = t.outcome("refund_status")
    if outcome is None:
        number = number or t.order_number()
        return call(("refund_status", {"order_number": number} if number else {}))
    if outcome.refused:
        code, message = outcome.refused
        return say(not_found_reply(t.order_number(), t) if code == ErrorCode.NOT_FOUND else message)
    if outcome.data is None:
        return say(failure_reply())
    d = _named_order_only(t, outcome.data)
    lines = []
    for r in d["requests"]:
        lines.append(
            f"Refund request {r['request_reference']} for {money(r['amount'], r['currency'])} on order "
            f"{r['order_number']} (requested {day(r['requested_on'])}): **{r['status_label'].lower()}**."
        )
    request_orders = {r["order_number"] for r in d["requests"]}
    for r in d["refunds"]:
        when = f" on {day(r['processed_on'])}" if r.get("processed_on") else ""
        why = f" ({r['reason'].rstrip('.')})" if r.get("reason") else ""
        to = f" ({r['paid_to']})" if r.get("paid_to") else ""
        lines.append(
            f"Refund of {money(r['amount'], r['currency'])} on order {r['order_number']} to your "
            f"{r['method'].lower()}{to}: **{r['status_label'].lower()}**{when}{why}."
        )
    for r in d["returns"]:
        if r["order_number"] in request_orders:
            continue
        label = f", label {r['label_reference']}" if labels else ""
        lines.append(
            f"Return for order {r['order_number']} ({', '.join(r['items'])}){label}: "
            f"**{r['status_label'].lower()}**{_received(r)}.{_still_due(r)}"
        )
    where = f" for order {d['order_number']}" if d.get("order_number") else ""
    if not lines:
        return say(
            lead,
            f"I don't see any refunds, refund requests or returns{where}. "
            "Would you like to start a return or request a refund?",
        )
    return say(lead, f"Here's where things stand{where}:", bullet(lines))


def _received(r: dict[str, Any]) -> str:
    return f" on {day(r['received_on'])}" if r.get("received_on") else ""


def _still_due(r: dict[str, Any]) -> str:
    """What the return will still refund, and what happens next."""
    if not r.get("refund_due"):
        return ""
    due = money(r["refund_due"], r["currency"])
    to = f", {r['refund_to']}" if r.get("refund_to") else ""
    if r.get("received_on"):
        return (
            f" The refund of {due} still due is waiting for a staff member's approval; no money has moved yet. It "
            f"goes back to the payment method the order was paid with{to}."
        )
    return f" Once the parcel arrives and is checked, {due} will be refunded to your original payment method{to}."


def _named_order_only(t: Turn, data: dict[str, Any]) -> dict[str, Any]:
    """The status of the one order the customer names by what it holds, its amount or its date ("my skillet refund",
    "the $70.2 pan"), when it is clear. Only orders that appear in the status are candidates (`orders`: each as a list
    shows it). Anything unclear keeps the whole status.
    """
    if data.get("order_number"):
        return data
    numbers = {r["order_number"] for key in ("requests", "refunds", "returns") for r in data[key]}
    if len(numbers) < 2:
        return data
    facts = facts_from_data(o for o in data.get("orders") or () if o.get("number") in numbers)
    found = resolve_order(t.text, facts, action="refund_status")
    if found.kind is not ResolutionKind.UNIQUE or found.order is None:
        return data
    if not found.items and all(c.startswith("action:") for c in found.cues):
        return data  # nothing the customer said named it
    number = found.order.number
    return {
        **data,
        "order_number": number,
        **{key: [r for r in data[key] if r["order_number"] == number] for key in ("requests", "refunds", "returns")},
    }
