"""The returns specialist's tools: eligibility, create a return (write), request a refund (approval), status.

The return policy lives in one place, `apps.commerce.services.return_check_eligibility`
(window from delivery, final-sale items, quantities). These tools explain its
verdict; they never decide around it.
"""

from __future__ import annotations

import calendar
from typing import Any

from django.conf import settings
from django.utils import timezone
from pydantic_ai import RunContext
from typing_extensions import TypedDict

from apps.agents.deps import SupportDeps
from apps.agents.specialists import serialize
from apps.agents.specialists.results import money
from apps.agents.specialists.returns.exchange import exchange_lines, exchange_names, exchange_options
from apps.agents.specialists.scope import actor_label, order_in_scope, orders_in_scope, owner
from apps.agents.tools import approval_tool, read_tool, write_tool
from apps.commerce import selectors, services
from apps.commerce.models import Order, ReturnReason, ReturnRequest, ReturnStatus
from apps.commerce.refund_rules import amount_parse, return_lines_parse
from apps.core.errors import ApplicationError
from apps.support.models import RefundApproval
from apps.support.services import refund_approval_request


class ItemArg(TypedDict):
    order_item_id: int
    quantity: int


REASONS = ", ".join(ReturnReason.values)


def _verdict(
    order: Order, items: list[dict[str, Any]] | None, reason: str, *, exchange: tuple[SupportDeps, str] | None = None
) -> services.ReturnEligibility:
    """The policy's verdict; `exchange` (the session, what the customer wants instead) judges an exchange."""
    if exchange is None:
        return services.return_check_eligibility(order=order, items=return_lines_parse(items), reason=reason)
    lines = exchange_lines(exchange[0], order, items or [], exchange[1])
    return services.return_check_eligibility(order=order, items=lines, reason=reason, is_exchange=True)


def _verdict_data(order: Order, verdict: services.ReturnEligibility) -> dict[str, Any]:
    all_items = {i.pk: i for i in order.items.all()}
    return {
        "order_number": order.number,
        "order_status": order.status,
        "eligible": verdict.eligible,
        "refusals": [{"code": r.code, "message": r.message} for r in verdict.reasons],
        "items": [
            {
                "order_item_id": v.order_item_id,
                "name": serialize.item_label(all_items[v.order_item_id]) if v.order_item_id in all_items else "",
                "requested_quantity": v.requested_quantity,
                "returnable_quantity": v.returnable_quantity,
                "eligible": v.eligible,
                "refusals": [{"code": r.code, "message": r.message} for r in v.reasons],
                "refundable_amount": str(v.refundable_amount),
            }
            for v in verdict.items
        ],
        "order_items": [serialize.order_item(i) for i in all_items.values()],
        "refundable_amount": str(verdict.refundable_amount),
        "return_shipping_fee": str(verdict.return_shipping_fee),
        "currency": verdict.currency,
        "window_days": verdict.window_days,
        "window_ends_on": verdict.window_ends_on.isoformat() if verdict.window_ends_on else None,
        # A defect after the return window is the warranty's (months from delivery), not a return.
        "warranty_months": settings.SHOP_WARRANTY_MONTHS,
        "warranty_ends_on": _warranty_end(order),
    }


def _warranty_end(order: Order) -> str | None:
    if order.delivered_at is None:
        return None
    delivered = timezone.localdate(order.delivered_at)
    years, month = divmod(delivered.month - 1 + settings.SHOP_WARRANTY_MONTHS, 12)
    year = delivered.year + years
    return delivered.replace(
        year=year, month=month + 1, day=min(delivered.day, calendar.monthrange(year, month + 1)[1])
    ).isoformat()


@read_tool
def list_returnable_orders(ctx: RunContext[SupportDeps]) -> dict[str, Any]:
    """The customer's recent orders with whether each can still be returned and until when."""
    rows = []
    for order in orders_in_scope(ctx.deps, limit=10):
        verdict = services.return_check_eligibility(order=order)
        rows.append(
            {
                **serialize.order_summary(order),
                "returnable": verdict.eligible,
                "window_ends_on": verdict.window_ends_on.isoformat() if verdict.window_ends_on else None,
                "refusals": [r.code for r in verdict.reasons],
            }
        )
    return {"orders": rows}


@read_tool
def check_return_eligibility(
    ctx: RunContext[SupportDeps], order_number: str, items: list[ItemArg] | None = None, reason: str = ""
) -> dict[str, Any]:
    """Can these items of the order be returned under the shop's policy, and what would be refunded?
    `items` are {order_item_id, quantity} (omit for everything still returnable); `reason` is one of the
    return reasons (damaged, wrong_item, not_as_described, size, changed_mind, other) or empty."""
    order = order_in_scope(ctx.deps, order_number)
    verdict = _verdict(order, items, reason)
    return _verdict_data(order, verdict)


@read_tool
def list_exchange_options(ctx: RunContext[SupportDeps], order_number: str) -> dict[str, Any]:
    """What each item of the order (final-sale items aside) can be exchanged for: the product's other sizes and
    colours, and whether each is in stock. An exchange is `create_return` with `exchange_for`."""
    order = order_in_scope(ctx.deps, order_number)
    return {"order_number": order.number, "items": exchange_options(ctx.deps, order.number)}


# -- create a return (write) ----------------------------------------------------------------------
def _check_reason(reason: str) -> None:
    if reason not in ReturnReason.values:
        raise ApplicationError(f"A return needs a reason, one of: {REASONS}.", code="reason_required")


def _return_precheck(
    ctx: Any, order_number: str, items: list[dict[str, Any]], reason: str, note: str = "", exchange_for: str = ""
) -> None:
    _check_reason(reason)
    if not items:
        raise ApplicationError("Name the items to return (order_item_id and quantity).", code="items_required")
    order = order_in_scope(ctx.deps, order_number)
    verdict = _verdict(order, items, reason, exchange=(ctx.deps, exchange_for) if exchange_for.strip() else None)
    if not verdict.eligible:
        refusal = (verdict.reasons or next(v.reasons for v in verdict.items if not v.eligible))[0]
        raise ApplicationError(refusal.message, code=refusal.code, extra={"reasons": verdict.reason_codes})


def _return_summary(args: dict[str, Any], deps: SupportDeps) -> str:
    order = order_in_scope(deps, args["order_number"])
    verdict = _verdict(order, args["items"], args["reason"])
    names = {i.pk: serialize.item_label(i) for i in order.items.all()}
    what = ", ".join(f"{v.requested_quantity} x {names[v.order_item_id]}" for v in verdict.items)
    if args.get("exchange_for"):
        lines = exchange_lines(deps, order, args["items"], args["exchange_for"])
        wanted = ", ".join(exchange_names(deps, order, lines)) or args["exchange_for"][:80]
        return (
            f"exchange {what} from order {order.number} for {wanted} "
            f"(reason: {ReturnReason(args['reason']).label.lower()}): you get a prepaid return label, and the "
            "replacement is sent once your return arrives (no refund, as it is an exchange)"
        )
    # The refundable amount is already net of the fee: say so rather than suggest a second deduction.
    fee = (
        f" (after the {money(verdict.return_shipping_fee, order.currency)} return shipping fee)"
        if verdict.return_shipping_fee
        else ""
    )
    return (
        f"start a return of {what} from order {order.number} "
        f"(reason: {ReturnReason(args['reason']).label.lower()}) with a prepaid return label; "
        f"the refund due once it arrives is {money(verdict.refundable_amount, order.currency)}{fee}"
    )


def _return_done(result: Any, args: dict[str, Any]) -> str:
    kind = "exchange" if args.get("exchange_for") else "return"
    return (
        f"Your {kind} for order {result['order_number']} is open. Your prepaid label reference is "
        f"{result['label_reference']}: print it, pack the item(s) and drop the parcel at the carrier. "
        "We will let you know when it arrives."
    )


def _return_outcome(args: dict[str, Any]) -> tuple[str, ...]:
    """A return refunds unless it is an exchange: "refund please, not another one. yes go ahead" confirms it."""
    return () if args.get("exchange_for") else ("refund",)


@write_tool(
    summary=_return_summary,
    precheck=_return_precheck,
    done_message=_return_done,
    # "ok go ahead and send me the label", "yes, return it": what a return is, said back
    confirm_verbs=("create", "open", "start", "book", "file", "make", "return", "send", "exchange"),
    outcome_verbs=_return_outcome,
)
def create_return(
    ctx: RunContext[SupportDeps],
    order_number: str,
    items: list[ItemArg],
    reason: str,
    note: str = "",
    exchange_for: str = "",
) -> dict[str, Any]:
    """Open a return for items of a delivered order and issue a prepaid label. `items` are
    {order_item_id, quantity}; `reason` is one of the return reasons; `exchange_for` (what the customer wants
    instead, e.g. "size S", "King") makes it an exchange. Needs the customer's confirmation."""
    _check_reason(reason)
    order = order_in_scope(ctx.deps, order_number)
    exchange_for = exchange_for.strip()[:80]
    lines = exchange_lines(ctx.deps, order, items, exchange_for) if exchange_for else return_lines_parse(items)
    return_request = services.return_create(
        order=order,
        items=lines,
        reason=reason,
        note=(f"Exchange for: {exchange_for}. {note}" if exchange_for else note).strip(),
        actor_label=actor_label(ctx.deps, order),
        is_exchange=bool(exchange_for),
    )
    return {
        "order_number": order.number,
        "label_reference": return_request.label_reference,
        "status": return_request.status,
    }


# -- request a refund (approval) ------------------------------------------------------------------
@approval_tool
def request_refund(
    ctx: RunContext[SupportDeps],
    order_number: str,
    reason: str,
    items: list[ItemArg] | None = None,
    amount: str | None = None,
) -> dict[str, Any]:
    """Ask the shop's staff to approve a refund. It creates a request for review and NOTHING else: no money
    moves until a person approves it. `reason` is one of the return reasons; `items` are {order_item_id,
    quantity} (omit for every returnable item); `amount` defaults to what the policy allows and may not exceed it."""
    _check_reason(reason)
    deps = ctx.deps
    order = order_in_scope(deps, order_number)
    verdict = _verdict(order, items, reason)
    if not verdict.eligible:
        refusal = (verdict.reasons or next(v.reasons for v in verdict.items if not v.eligible))[0]
        raise ApplicationError(
            f"{refusal.message} A refund cannot be requested under the policy; offer to escalate to a person "
            "(reason policy_exception) if the customer wants an exception.",
            code=refusal.code,
            extra={"reasons": verdict.reason_codes},
        )
    allowed = verdict.refundable_amount
    requested = amount_parse(amount) if amount not in (None, "") else None
    if requested is not None and requested > allowed:
        raise ApplicationError(
            f"At most {money(allowed, order.currency)} can be refunded for these items under the policy.",
            code="amount_exceeds_policy",
            extra={"allowed": str(allowed)},
        )
    approval = refund_approval_request(
        order=order,
        customer=owner(deps, order),
        amount=requested or allowed,
        reason=f"{ReturnReason(reason).label} (requested in chat)",
        items=[{"order_item_id": v.order_item_id, "quantity": v.requested_quantity} for v in verdict.items],
        conversation=deps.conversation,
        requested_by="agent",
        return_reason=reason,
    )
    deps.facts.setdefault("refund_requests", []).append(approval.pk)
    return {
        "request_reference": f"R-{approval.pk:06d}",
        "order_number": order.number,
        "amount": str(approval.amount),
        "currency": approval.currency,
        "status": approval.status,
        "status_label": approval.get_status_display(),
        "items": [i["name"] for i in approval.items],
        "note": "Pending review by the shop's staff. No money has moved yet.",
    }


@read_tool
def refund_status(ctx: RunContext[SupportDeps], order_number: str = "") -> dict[str, Any]:
    """Refunds and refund requests (pending review, approved, refunded, rejected) for one order or all orders."""
    deps = ctx.deps
    orders = [order_in_scope(deps, order_number)] if order_number else orders_in_scope(deps, limit=20)
    refunds = selectors.refund_list_for_customer(customer=deps.customer, only_order=deps.verified_order, limit=20)
    returns = selectors.return_list_for_customer(customer=deps.customer, only_order=deps.verified_order, limit=20)
    approvals = RefundApproval.objects.filter(order__in=orders).select_related("order").order_by("-created_at")[:20]
    numbers = {o.number for o in orders}
    named = {r.order.number for r in refunds} | {r.order.number for r in returns} | {a.order.number for a in approvals}
    return {
        "order_number": order_number and orders[0].number,
        # the orders the status is about, as a list shows them: the customer names one by its item, amount or date
        "orders": [serialize.order_summary(o) for o in orders if o.number in named],
        "requests": [
            {
                "request_reference": f"R-{a.pk:06d}",
                "order_number": a.order.number,
                "amount": str(a.amount),
                "currency": a.currency,
                "status": a.status,
                "status_label": a.get_status_display(),
                "requested_on": a.created_at.date().isoformat(),
            }
            for a in approvals
        ],
        "refunds": [serialize.refund(r) for r in refunds if r.order.number in numbers],
        "returns": [_return_status(r) for r in returns if r.order.number in numbers],
    }


# A return still on its way to a refund: what it will refund is still due to the customer.
_AWAITING_REFUND = (ReturnStatus.REQUESTED, ReturnStatus.LABEL_ISSUED, ReturnStatus.RECEIVED)


def _return_status(rr: ReturnRequest) -> dict[str, Any]:
    """A return as the status shows it, with the refund still due on it (the policy's amount for its items)."""
    data = serialize.return_request(rr)
    if rr.status in _AWAITING_REFUND and not rr.is_exchange:
        verdict = services.return_check_eligibility(order=rr.order, for_return=rr)
        data["refund_due"] = str(verdict.refundable_amount)
        data["currency"] = verdict.currency
        data["received_on"] = rr.received_at.date().isoformat() if rr.received_at else None
        # where it will go: the payment method the order was paid with (refunds go back the way the money came)
        paid = [p for p in rr.order.payments.all() if p.method is not None]
        data["refund_to"] = paid[-1].method.masked if paid else ""
    return data


TOOLS = [
    list_returnable_orders,
    check_return_eligibility,
    list_exchange_options,
    create_return,
    request_refund,
    refund_status,
]
