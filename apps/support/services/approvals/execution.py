"""Executing an approved refund request: exactly once, after its return arrives, retried on errors.

Money never moves here directly: `refund_approval_execute` calls
`apps.commerce.services.refund_execute` with the approval's idempotency key
while holding the approval's row lock, so a second approval, a replayed task
or a task re-run after a crash finds the first refund instead of paying again.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.commerce.models import Refund, RefundStatus
from apps.commerce.services import refund_execute
from apps.core.errors import ApplicationError
from apps.support.models import ApprovalStatus, Decision, RefundApproval, Ticket, TicketCategory, TicketPriority
from apps.support.services.approvals.requests import RETURN_ABANDONED, RETURN_IN_TRANSIT, SUBJECT
from apps.support.services.audit import actor_label_for, audit_record
from apps.support.services.notify import notify_customer_of_outcome, notify_staff
from apps.support.services.tickets import ticket_create

logger = logging.getLogger(__name__)


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
