"""Raising a refund request: its amount, its items, the return it pays for, and the policy verdict.

The verdict the approvers see is the one the returns tools act on: the same
`return_check_eligibility` over the same lines for the same return reason (a damaged
item the customer keeps pays no return shipping fee, `apps.commerce.refund_rules`).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum

from apps.commerce.models import Order, ReturnReason, ReturnRequest, ReturnStatus
from apps.commerce.refund_rules import ReturnLine, amount_parse, order_item_lines, order_refundable_balance
from apps.commerce.services import return_check_eligibility
from apps.conversations.models import Conversation
from apps.core.errors import ApplicationError, NotFound, PermissionDenied
from apps.support.models import OPEN_APPROVAL_STATUSES, RefundApproval
from apps.support.services.audit import actor_label_for, audit_record
from apps.support.services.notify import notify_staff

SUBJECT = "refund_approval"
# A return in these states is still on its way back; one in these was withdrawn or refused.
RETURN_IN_TRANSIT = (ReturnStatus.REQUESTED, ReturnStatus.LABEL_ISSUED)
RETURN_ABANDONED = (ReturnStatus.CANCELLED, ReturnStatus.REJECTED)
LINKABLE_RETURN_STATUSES = (*RETURN_IN_TRANSIT, ReturnStatus.RECEIVED)


def refund_approval_refundable_amount(*, order: Order) -> Decimal:
    """What is left to refund: captured payments minus refunds, minus requests still open for this order."""
    paid = order_refundable_balance(order=order)
    reserved = RefundApproval.objects.filter(order=order, status__in=OPEN_APPROVAL_STATUSES).aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal("0.00")
    return max(paid - reserved, Decimal("0.00"))


def _policy_check(
    *,
    order: Order,
    items: list[dict[str, Any]],
    amount: Decimal,
    return_reason: str,
    return_request: ReturnRequest | None,
) -> dict[str, Any]:
    """The shop's return policy verdict, from commerce (the one place the policy lives), stored as JSON.

    No items means the whole order. With a return, the verdict is about that return (its
    items, its reason's shipping fee, the window when it was opened), not a refusal because
    a return is in progress. Without one, `return_reason` prices it as the returns tools do.
    `amount_within_policy` tells the approvers whether the requested amount is at most what
    the policy would refund.
    """
    lines = [ReturnLine(order_item_id=i["order_item_id"], quantity=i["quantity"]) for i in items] or None
    reason = "" if return_request is not None else return_reason
    verdict = return_check_eligibility(order=order, items=lines, reason=reason, for_return=return_request)
    result = json.loads(json.dumps(asdict(verdict), default=str))
    result["reason_codes"] = verdict.reason_codes
    result["amount_within_policy"] = verdict.eligible and amount <= verdict.refundable_amount
    if return_request is not None:
        result["return_request"] = {
            "id": return_request.pk,
            "label_reference": return_request.label_reference,
            "status": return_request.status,
            "reason": return_request.reason,
        }
    return result


def _return_lines(return_request: ReturnRequest) -> dict[int, int]:
    return {ri.order_item_id: ri.quantity for ri in return_request.items.all()}


def _covers(return_request: ReturnRequest, items: list[dict[str, Any]]) -> bool:
    lines = _return_lines(return_request)
    return all(lines.get(i["order_item_id"], 0) >= i["quantity"] for i in items)


def _has_open_approval(return_request: ReturnRequest) -> RefundApproval | None:
    return RefundApproval.objects.filter(return_request=return_request, status__in=OPEN_APPROVAL_STATUSES).first()


def _link_return(
    *, order: Order, items: list[dict[str, Any]], return_request: ReturnRequest | None
) -> ReturnRequest | None:
    """The return this refund pays for: the one named, or the order's open return covering the items.

    A named return must be this order's, a return (not an exchange), not closed, cover the
    items and not already have an open refund request. Without one, the order's open return
    is linked only when it covers the items (no items: all of it), so a goodwill refund for
    something else does not close someone's return.
    """
    if return_request is None:
        candidates = (
            ReturnRequest.objects.filter(order=order, is_exchange=False, status__in=LINKABLE_RETURN_STATUSES)
            .prefetch_related("items")
            .order_by("-created_at", "-id")
        )
        for candidate in candidates:
            if _covers(candidate, items) and _has_open_approval(candidate) is None:
                return candidate
        return None
    return_request = ReturnRequest.objects.prefetch_related("items").get(pk=return_request.pk)
    if return_request.order_id != order.pk:
        raise ApplicationError("That return belongs to another order.", code="return_not_for_order")
    if return_request.is_exchange:
        raise ApplicationError("An exchange is not refunded.", code="return_is_exchange")
    if return_request.status not in LINKABLE_RETURN_STATUSES:
        raise ApplicationError(
            f"Return {return_request.label_reference} is {return_request.get_status_display().lower()}.",
            code="return_closed",
        )
    if not _covers(return_request, items):
        raise ApplicationError(
            f"The items are not all part of return {return_request.label_reference}.", code="items_not_in_return"
        )
    existing = _has_open_approval(return_request)
    if existing is not None:
        raise ApplicationError(
            f"Refund request {existing.reference} already covers return {return_request.label_reference}.",
            code="refund_already_requested",
            extra={"request": existing.reference},
        )
    return return_request


def _requester(requested_by: Any) -> tuple[str, Any]:
    if requested_by == "agent":
        return "agent", None
    if getattr(requested_by, "is_staff", False) and requested_by.is_active:
        return actor_label_for(requested_by), requested_by
    raise PermissionDenied("Only staff or the agent may raise a refund request.", code="invalid_requester")


def refund_approval_request(
    *,
    order: Order,
    customer: Any,
    amount: Decimal | str | int,
    reason: str,
    items: list[dict[str, Any]] | None,
    conversation: Conversation | None = None,
    requested_by: Any = "agent",
    return_request: ReturnRequest | None = None,
    return_reason: str = "",
) -> RefundApproval:
    """Record a refund request for review. Moves no money and changes no order.

    `customer` is the session's customer (never one named by a model); the order
    must be theirs. `items` are `{"order_item_id" | "sku", "quantity"}`. The policy
    verdict is stored for the approvers; an ineligible verdict does not block the
    request (exceptions are the approvers' call).

    A refund for returned goods is linked to the return (`return_request`, or the
    order's open return covering the items): it is paid once the return is received,
    which closes the return. No items with a return means the return's items.

    `return_reason` (a `ReturnReason`, e.g. "damaged") prices the policy verdict of a refund
    without a return, as the returns tools priced it; a linked return brings its own reason.
    """
    if customer is None or order.customer_id != customer.pk:
        raise NotFound("Order not found.")
    if (
        conversation is not None
        and conversation.customer_id != customer.pk
        and conversation.verified_order_id != order.pk
    ):
        raise ApplicationError("The conversation belongs to someone else.", code="conversation_mismatch")
    amount = amount_parse(amount)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("A reason is required.", code="reason_required")
    if return_reason and return_reason not in ReturnReason.values:
        raise ApplicationError(f"'{return_reason}' is not a return reason.", code="invalid_reason")
    label, user = _requester(requested_by)

    with transaction.atomic():
        # Serialise requests on one order so two of them cannot both claim the same money.
        Order.objects.select_for_update().filter(pk=order.pk).first()
        refundable = refund_approval_refundable_amount(order=order)
        if amount > refundable:
            raise ApplicationError(
                f"At most {refundable} {order.currency} can be refunded on this order.",
                code="amount_exceeds_refundable",
                extra={"refundable": str(refundable)},
            )
        cleaned = order_item_lines(order=order, items=items)
        linked = _link_return(order=order, items=cleaned, return_request=return_request)
        if linked is not None and not cleaned:
            cleaned = order_item_lines(
                order=order,
                items=[{"order_item_id": pk, "quantity": q} for pk, q in _return_lines(linked).items()],
            )
        policy = _policy_check(
            order=order, items=cleaned, amount=amount, return_reason=return_reason, return_request=linked
        )
        threshold = Decimal(settings.REFUND_SECOND_APPROVER_THRESHOLD)
        approval = RefundApproval(
            order=order,
            customer=customer,
            amount=amount,
            currency=order.currency,
            reason=reason,
            items=cleaned,
            policy_check=policy,
            conversation=conversation,
            return_request=linked,
            requested_by_label=label,
            requested_by_user=user,
            required_approvals=2 if amount > threshold else 1,
        )
        approval.full_clean()
        approval.save()
        audit_record(
            subject=approval,
            subject_type=SUBJECT,
            action="requested",
            to_state=approval.status,
            actor=user,
            actor_label=label,
            data={
                "order": order.number,
                "amount": str(amount),
                "required_approvals": approval.required_approvals,
                "policy_eligible": policy.get("eligible"),
                "return_id": linked.pk if linked else None,
            },
        )
        notify_staff("refund_approval_requested", approval_id=approval.pk, amount=str(amount), order=order.number)
    return approval
