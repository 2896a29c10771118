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
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from apps.commerce.models import (
    Order,
    Refund,
    RefundStatus,
    ReturnRequest,
    ReturnStatus,
)
from apps.commerce.refund_rules import amount_parse, order_item_lines, order_refundable_balance
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
    *, order: Order, items: list[dict[str, Any]], amount: Decimal, return_request: ReturnRequest | None
) -> dict[str, Any]:
    """The shop's return policy verdict, from commerce (the one place the policy lives), stored as JSON.

    No items means the whole order. With a return, the verdict is about that return (its
    items, its reason's shipping fee, the window when it was opened), not a refusal because
    a return is in progress. `amount_within_policy` tells the approvers whether the requested
    amount is at most what the policy would refund.
    """
    from apps.commerce.services import ReturnLine, return_check_eligibility

    lines = [ReturnLine(order_item_id=i["order_item_id"], quantity=i["quantity"]) for i in items] or None
    verdict = return_check_eligibility(order=order, items=lines, for_return=return_request)
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
) -> RefundApproval:
    """Record a refund request for review. Moves no money and changes no order.

    `customer` is the session's customer (never one named by a model); the order
    must be theirs. `items` are `{"order_item_id" | "sku", "quantity"}`. The policy
    verdict is stored for the approvers; an ineligible verdict does not block the
    request (exceptions are the approvers' call).

    A refund for returned goods is linked to the return (`return_request`, or the
    order's open return covering the items): it is paid once the return is received,
    which closes the return. No items with a return means the return's items.
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
        policy = _policy_check(order=order, items=cleaned, amount=amount, return_request=linked)
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
            notify_staff(
                "refund_approval_decided",
                approval_id=locked.pk,
                status=locked.status,
                approvals=locked.decisions.filter(decision=Decision.APPROVE).count(),
                required_approvals=locked.required_approvals,
            )
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
            notify_staff(
                "refund_approval_decided",
                approval_id=locked.pk,
                status=locked.status,
                approvals=approvals,
                required_approvals=locked.required_approvals,
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
        notify_staff(
            "refund_approval_decided",
            approval_id=locked.pk,
            status=locked.status,
            approvals=approvals,
            required_approvals=locked.required_approvals,
        )
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

    A request for a return waits (`awaiting_return`) until the return is received,
    then refunds it (closing the return and the order's return); a withdrawn or
    rejected return cancels it. An unexpected error is recorded and retried by the
    beat job; after `REFUND_APPROVAL_MAX_EXECUTION_ATTEMPTS` the request fails.
    """
    with transaction.atomic():
        approval = (
            RefundApproval.objects.select_for_update(of=("self",))
            .select_related("order", "customer", "return_request")
            .filter(pk=approval_id)
            .first()
        )
        if approval is None:
            logger.warning("refund approval %s no longer exists; nothing to execute", approval_id)
            return None
        if approval.status not in (ApprovalStatus.APPROVED, ApprovalStatus.AWAITING_RETURN):
            # Executed, failed, rejected or cancelled: a replay. Pending: never execute before approval.
            logger.info("refund approval %s is %s; not executing", approval.pk, approval.status)
            return approval

        refund = Refund.objects.filter(idempotency_key=approval.idempotency_key).first()
        return_request = approval.return_request
        if refund is None and return_request is not None:
            if return_request.status in RETURN_IN_TRANSIT:
                if approval.status == ApprovalStatus.APPROVED:
                    _set_status(approval, ApprovalStatus.AWAITING_RETURN, action="awaiting_return")
                return approval
            if return_request.status in RETURN_ABANDONED:
                _set_status(approval, ApprovalStatus.CANCELLED, action="cancelled", final=True)
                return approval
        if approval.status == ApprovalStatus.AWAITING_RETURN:
            _set_status(approval, ApprovalStatus.APPROVED, action="return_received", notify=False)

        failure = ""
        max_attempts = settings.REFUND_APPROVAL_MAX_EXECUTION_ATTEMPTS
        if refund is None and approval.execution_attempts >= max_attempts:
            # Only reachable when the limit was lowered below the attempts already made.
            failure = (
                f"Gave up after {approval.execution_attempts} attempts; "
                f"last error: {approval.last_error or 'none recorded'}"
            )
        elif refund is None:
            approval.execution_attempts += 1
            approval.last_attempt_at = timezone.now()
            refund, failure, error = _try_refund(approval)
            if error:
                approval.last_error = error[:255]
                if approval.execution_attempts < max_attempts:
                    approval.save(update_fields=["execution_attempts", "last_attempt_at", "last_error", "updated_at"])
                    audit_record(
                        subject=approval,
                        subject_type=SUBJECT,
                        action="execution_error",
                        from_state=approval.status,
                        to_state=approval.status,
                        actor_label="system",
                        data={"attempt": approval.execution_attempts, "max_attempts": max_attempts, "error": error},
                    )
                    return approval
                failure = f"Gave up after {approval.execution_attempts} attempts; last error: {error}"
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


def _try_refund(approval: RefundApproval) -> tuple[Refund | None, str, str]:
    """One call to commerce: (refund, refusal for the customer's record, unexpected error for staff)."""
    from apps.commerce.services import refund_execute

    approver = _final_approver(approval)
    try:
        # A savepoint: whatever commerce wrote before failing is undone, the approval row stays usable.
        with transaction.atomic():
            refund = refund_execute(
                order=approval.order,
                amount=approval.amount,
                reason=f"Refund request {approval.reference}: {approval.reason}"[:255],
                idempotency_key=approval.idempotency_key,
                actor_label=actor_label_for(approver) if approver else "system",
                actor=approver,
                return_request=approval.return_request,
            )
    except ApplicationError as exc:
        return Refund.objects.filter(idempotency_key=approval.idempotency_key).first(), exc.message, ""
    except Exception as exc:
        logger.exception("refund approval %s: unexpected error executing the refund", approval.pk)
        return None, "", f"{type(exc).__name__}: {exc}"
    return refund, "", ""


def _set_status(
    approval: RefundApproval, status: str, *, action: str, final: bool = False, notify: bool = True
) -> None:
    """A move that is not the refund itself: waiting for the return, the return arrived, or it never will."""
    from_state = approval.status
    approval.status = status
    fields = ["status", "updated_at"]
    if final:
        approval.failure_message = (
            f"Return {approval.return_request.label_reference} was "
            f"{approval.return_request.get_status_display().lower()}; nothing refunded."
        )[:255]
        fields.append("failure_message")
    approval.save(update_fields=fields)
    audit_record(
        subject=approval,
        subject_type=SUBJECT,
        action=action,
        from_state=from_state,
        to_state=status,
        actor_label="system",
        data={"return_id": approval.return_request_id, "return_status": approval.return_request.status},
    )
    if notify:
        notify_customer_of_outcome(approval=approval)
        notify_staff("refund_approval_decided", approval_id=approval.pk, status=approval.status)


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
    """Queue again what the execution task should (re)run; returns the ids queued.

    - approved requests not executed `REFUND_APPROVAL_REQUEUE_AFTER_MINUTES` after the decision
      (a lost broker message) or after their last failed attempt (a wait between retries);
    - requests waiting for a return that has since been received, withdrawn or rejected.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.REFUND_APPROVAL_REQUEUE_AFTER_MINUTES)
    stuck = list(
        RefundApproval.objects.filter(status=ApprovalStatus.APPROVED, decided_at__lt=cutoff)
        .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lt=cutoff))
        .order_by("id")
        .values_list("pk", flat=True)
    )
    returned = list(
        RefundApproval.objects.filter(status=ApprovalStatus.AWAITING_RETURN)
        .exclude(return_request__status__in=RETURN_IN_TRANSIT)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    for approval_id in stuck:
        logger.warning("refund approval %s approved but not executed; queueing it again", approval_id)
        _enqueue_execution(approval_id)
    for approval_id in returned:
        logger.info("refund approval %s: its return is no longer in transit; executing", approval_id)
        _enqueue_execution(approval_id)
    return stuck + returned
