"""Refund approval requests: raised by the agent (or staff), decided by approvers, executed by a worker.

Money never moves here directly: the execution task calls
`apps.commerce.services.refund_execute` with the approval's idempotency key
while holding the approval's row lock, so a second approval, a replayed task
or a task re-run after a crash finds the first refund instead of paying again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from apps.commerce.models import Order, OrderItem, Payment, PaymentStatus, Refund, RefundStatus
from apps.conversations.models import Conversation
from apps.core.errors import ApplicationError, NotFound, PermissionDenied
from apps.support.models import (
    OPEN_APPROVAL_STATUSES,
    ApprovalDecision,
    ApprovalStatus,
    Decision,
    RefundApproval,
    Ticket,
    TicketCategory,
    TicketPriority,
)
from apps.support.services.audit import actor_label_for, audit_record
from apps.support.services.notify import notify_customer_of_outcome, notify_leads_of_overdue, notify_staff

logger = logging.getLogger(__name__)

SUBJECT = "refund_approval"
DECIDE_PERMISSION = "support.decide_refundapproval"
CENT = Decimal("0.01")
REFUNDABLE_PAYMENT_STATUSES = (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


def _money(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ApplicationError("The amount is not a number.", code="invalid_amount") from exc
    if not amount.is_finite():
        raise ApplicationError("The amount is not a number.", code="invalid_amount")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def refund_approval_refundable_amount(*, order: Order) -> Decimal:
    """What is left to refund: captured payments minus refunds, minus requests still open for this order."""
    paid = Payment.objects.filter(order=order, status__in=REFUNDABLE_PAYMENT_STATUSES).aggregate(
        left=Sum("amount") - Sum("refunded_amount")
    )["left"] or Decimal("0.00")
    reserved = RefundApproval.objects.filter(order=order, status__in=OPEN_APPROVAL_STATUSES).aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal("0.00")
    return max(paid - reserved, Decimal("0.00"))


def _clean_items(*, order: Order, items: Any) -> list[dict[str, Any]]:
    if items is None:
        return []
    if not isinstance(items, list | tuple):
        raise ApplicationError("Items must be a list.", code="invalid_items")
    order_items = {oi.pk: oi for oi in OrderItem.objects.filter(order=order)}
    by_sku = {oi.sku: oi for oi in order_items.values()}
    cleaned: list[dict[str, Any]] = []
    seen: set[int] = set()
    for raw in items:
        if not isinstance(raw, dict):
            raise ApplicationError("Each item needs an order item id (or SKU) and a quantity.", code="invalid_items")
        order_item: OrderItem | None = None
        if raw.get("order_item_id") is not None:
            try:
                order_item = order_items.get(int(raw["order_item_id"]))
            except (TypeError, ValueError):
                order_item = None
        elif raw.get("sku"):
            order_item = by_sku.get(str(raw["sku"]))
        if order_item is None:
            raise ApplicationError("An item is not part of this order.", code="item_not_in_order")
        try:
            quantity = int(raw.get("quantity", order_item.quantity))
        except (TypeError, ValueError):
            quantity = 0
        if not 1 <= quantity <= order_item.quantity:
            raise ApplicationError(
                f"Quantity for {order_item.sku} must be between 1 and {order_item.quantity}.", code="invalid_quantity"
            )
        if order_item.pk in seen:
            raise ApplicationError("An item is listed twice.", code="duplicate_item")
        seen.add(order_item.pk)
        cleaned.append(
            {
                "order_item_id": order_item.pk,
                "sku": order_item.sku,
                "name": str(order_item),
                "quantity": quantity,
                "unit_price": str(order_item.unit_price),
                "final_sale": order_item.final_sale,
            }
        )
    return cleaned


def _policy_check(*, order: Order, items: list[dict[str, Any]], amount: Decimal) -> dict[str, Any]:
    """The shop's return policy verdict, from commerce (the one place the policy lives), stored as JSON.

    No items means the whole order. `amount_within_policy` tells the approvers whether the
    requested amount is at most what the policy would refund.
    """
    from apps.commerce.services import ReturnLine, return_check_eligibility

    lines = [ReturnLine(order_item_id=i["order_item_id"], quantity=i["quantity"]) for i in items] or None
    verdict = return_check_eligibility(order=order, items=lines)
    result = json.loads(json.dumps(asdict(verdict), default=str))
    result["reason_codes"] = verdict.reason_codes
    result["amount_within_policy"] = verdict.eligible and amount <= verdict.refundable_amount
    return result


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
) -> RefundApproval:
    """Record a refund request for review. Moves no money and changes no order.

    `customer` is the session's customer (never one named by a model); the order
    must be theirs. `items` are `{"order_item_id" | "sku", "quantity"}`. The policy
    verdict is stored for the approvers; an ineligible verdict does not block the
    request (exceptions are the approvers' call).
    """
    if customer is None or order.customer_id != customer.pk:
        raise NotFound("Order not found.")
    if (
        conversation is not None
        and conversation.customer_id != customer.pk
        and conversation.verified_order_id != order.pk
    ):
        raise ApplicationError("The conversation belongs to someone else.", code="conversation_mismatch")
    amount = _money(amount)
    if amount <= 0:
        raise ApplicationError("The amount must be greater than zero.", code="invalid_amount")
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("A reason is required.", code="reason_required")
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
        cleaned = _clean_items(order=order, items=items)
        policy = _policy_check(order=order, items=cleaned, amount=amount)
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
            },
        )
        notify_staff("refund_approval_requested", approval_id=approval.pk, amount=str(amount), order=order.number)
    return approval


def _check_may_decide(*, approval: RefundApproval, approver: Any) -> None:
    if approver is None or not approver.is_active or not approver.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied("You do not have permission to decide refund requests.", code="not_an_approver")
    if approval.requested_by_user_id is not None and approval.requested_by_user_id == approver.pk:
        raise PermissionDenied("You cannot decide a refund request you raised.", code="own_request")
    account_users = {approval.customer.user_id, approval.order.customer.user_id} - {None}
    if approver.pk in account_users:
        raise PermissionDenied("You cannot decide a refund request on your own account.", code="own_account")


def refund_approval_decide(
    *, approval: RefundApproval, approver: Any, approve: bool, reason: str = ""
) -> RefundApproval:
    """Record one approver's decision. Rejection needs a reason and is final.

    The request is approved once it has `required_approvals` approvals from
    different people; then (after commit) the execution task is queued.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = (
            RefundApproval.objects.select_for_update(of=("self",))
            .select_related("order__customer", "customer")
            .get(pk=approval.pk)
        )
        _check_may_decide(approval=locked, approver=approver)
        if not approve and not reason:
            raise ApplicationError("A reason is required to reject a refund request.", code="reason_required")
        if locked.status != ApprovalStatus.PENDING:
            raise ApplicationError(
                f"This request is already {locked.get_status_display().lower()}.", code="already_decided"
            )
        if locked.decisions.filter(approver=approver).exists():
            raise ApplicationError(
                "You already approved this request; the second approval must come from someone else.",
                code="second_approver_required",
            )
        ApprovalDecision.objects.create(
            approval=locked, approver=approver, decision=Decision.APPROVE if approve else Decision.REJECT, reason=reason
        )
        from_state = locked.status
        now = timezone.now()
        if not approve:
            locked.status = ApprovalStatus.REJECTED
            locked.decided_at = now
            locked.save(update_fields=["status", "decided_at", "updated_at"])
            audit_record(
                subject=locked,
                subject_type=SUBJECT,
                action="rejected",
                from_state=from_state,
                to_state=locked.status,
                actor=approver,
                data={"reason": reason},
            )
            notify_customer_of_outcome(approval=locked)
            notify_staff("refund_approval_decided", approval_id=locked.pk, status=locked.status)
            return locked

        approvals = locked.decisions.filter(decision=Decision.APPROVE).count()
        if approvals < locked.required_approvals:
            audit_record(
                subject=locked,
                subject_type=SUBJECT,
                action="approval_recorded",
                from_state=from_state,
                to_state=locked.status,
                actor=approver,
                data={"approvals": approvals, "required": locked.required_approvals, "reason": reason},
            )
            return locked

        locked.status = ApprovalStatus.APPROVED
        locked.decided_at = now
        locked.save(update_fields=["status", "decided_at", "updated_at"])
        audit_record(
            subject=locked,
            subject_type=SUBJECT,
            action="approved",
            from_state=from_state,
            to_state=locked.status,
            actor=approver,
            data={"approvals": approvals, "required": locked.required_approvals, "reason": reason},
        )
        _enqueue_execution(locked.pk)
        notify_staff("refund_approval_decided", approval_id=locked.pk, status=locked.status)
    return locked


def _enqueue_execution(approval_id: int) -> None:
    from apps.support.tasks import execute_refund_approval

    transaction.on_commit(lambda: execute_refund_approval.delay(approval_id))


def _final_approver(approval: RefundApproval) -> Any:
    decision = approval.decisions.filter(decision=Decision.APPROVE).select_related("approver").last()
    return decision.approver if decision else None


def refund_approval_execute(*, approval_id: int) -> RefundApproval | None:
    """Execute an approved request exactly once. Safe to call any number of times.

    The approval row stays locked for the whole call, so concurrent runs queue up
    and find the request already executed. The commerce idempotency key covers a
    run that died after the refund was written but before the approval was marked.
    """
    with transaction.atomic():
        approval = (
            RefundApproval.objects.select_for_update(of=("self",))
            .select_related("order", "customer")
            .filter(pk=approval_id)
            .first()
        )
        if approval is None:
            logger.warning("refund approval %s no longer exists; nothing to execute", approval_id)
            return None
        if approval.status != ApprovalStatus.APPROVED:
            # Executed, failed or rejected: a replay. Pending: never execute before approval.
            logger.info("refund approval %s is %s; not executing", approval.pk, approval.status)
            return approval

        approval.execution_attempts += 1
        approver = _final_approver(approval)
        failure = ""
        refund = Refund.objects.filter(idempotency_key=approval.idempotency_key).first()
        if refund is None:
            from apps.commerce.services import refund_execute

            try:
                with transaction.atomic():
                    refund = refund_execute(
                        order=approval.order,
                        amount=approval.amount,
                        reason=f"Refund request {approval.reference}: {approval.reason}"[:255],
                        idempotency_key=approval.idempotency_key,
                        actor_label=actor_label_for(approver) if approver else "system",
                        actor=approver,
                    )
            except ApplicationError as exc:
                failure = exc.message
                refund = Refund.objects.filter(idempotency_key=approval.idempotency_key).first()
        if refund is not None and refund.status == RefundStatus.FAILED:
            failure = refund.failure_message or "The payment processor refused the refund."

        from_state = approval.status
        approval.refund = refund
        if failure:
            approval.status = ApprovalStatus.FAILED
            approval.failure_message = failure[:255]
            approval.follow_up_ticket = _open_follow_up_ticket(approval)
        else:
            approval.status = ApprovalStatus.EXECUTED
            approval.executed_at = timezone.now()
        approval.save()
        audit_record(
            subject=approval,
            subject_type=SUBJECT,
            action="executed" if not failure else "execution_failed",
            from_state=from_state,
            to_state=approval.status,
            actor_label="system",
            data={
                "refund_id": refund.pk if refund else None,
                "attempt": approval.execution_attempts,
                "failure": failure,
            },
        )
        notify_customer_of_outcome(approval=approval)
        notify_staff("refund_approval_decided", approval_id=approval.pk, status=approval.status)
    return approval


def _open_follow_up_ticket(approval: RefundApproval) -> Ticket:
    from apps.support.services.tickets import ticket_create

    return ticket_create(
        subject=f"Approved refund failed: order {approval.order.number}",
        description=(
            f"Refund request {approval.reference} for {approval.amount} {approval.currency} was approved "
            f"but the refund failed: {approval.failure_message}"
        ),
        category=TicketCategory.BILLING,
        priority=TicketPriority.HIGH,
        customer=approval.customer,
        conversation=approval.conversation,
        orders=(approval.order,),
        created_by_label="system",
    )


def refund_approvals_escalate_overdue(*, now: datetime | None = None) -> list[int]:
    """Flag requests left undecided too long and tell the leads once. Idempotent."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.REFUND_APPROVAL_ESCALATE_AFTER_HOURS)
    with transaction.atomic():
        overdue = list(
            RefundApproval.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("order")
            .filter(status=ApprovalStatus.PENDING, escalated_at__isnull=True, created_at__lt=cutoff)
            .order_by("created_at", "id")
        )
        for approval in overdue:
            approval.escalated_at = now
            approval.save(update_fields=["escalated_at", "updated_at"])
            audit_record(
                subject=approval,
                subject_type=SUBJECT,
                action="escalated",
                from_state=approval.status,
                to_state=approval.status,
                actor_label="system",
                data={"waiting_hours": round((now - approval.created_at).total_seconds() / 3600, 1)},
            )
        if overdue:
            notify_leads_of_overdue(approvals=overdue, now=now)
            notify_staff("refund_approvals_escalated", approval_ids=[a.pk for a in overdue])
    return [a.pk for a in overdue]


def refund_approvals_requeue_stuck(*, now: datetime | None = None) -> list[int]:
    """Queue again approved requests whose execution never finished (a lost broker message)."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.REFUND_APPROVAL_REQUEUE_AFTER_MINUTES)
    ids = list(
        RefundApproval.objects.filter(status=ApprovalStatus.APPROVED, decided_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for approval_id in ids:
        logger.warning("refund approval %s approved but not executed; queueing it again", approval_id)
        _enqueue_execution(approval_id)
    return ids
