"""Approvers deciding a refund request: who may, how many approvals it needs, and queueing its execution."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.errors import ApplicationError, PermissionDenied
from apps.support.models import ApprovalDecision, ApprovalStatus, Decision, RefundApproval
from apps.support.services.approvals.requests import SUBJECT
from apps.support.services.audit import audit_record
from apps.support.services.notify import notify_customer_of_outcome, notify_staff
from apps.support.tasks import refund_approval_enqueue_execution

DECIDE_PERMISSION = "support.decide_refundapproval"


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
        approvals = locked.decisions.filter(decision=Decision.APPROVE).count()
        data: dict[str, Any] = {"reason": reason}
        if not approve:
            action = "rejected"
            locked.status = ApprovalStatus.REJECTED
        else:
            # Approved once enough different people said yes; until then the approval is only recorded.
            action = "approved" if approvals >= locked.required_approvals else "approval_recorded"
            data = {"approvals": approvals, "required": locked.required_approvals, "reason": reason}
            if action == "approved":
                locked.status = ApprovalStatus.APPROVED
        if locked.status != from_state:
            locked.decided_at = timezone.now()
            locked.save(update_fields=["status", "decided_at", "updated_at"])
        audit_record(
            subject=locked,
            subject_type=SUBJECT,
            action=action,
            from_state=from_state,
            to_state=locked.status,
            actor=approver,
            data=data,
        )
        if action == "rejected":
            notify_customer_of_outcome(approval=locked)
        elif action == "approved":
            refund_approval_enqueue_execution(locked.pk)
        notify_staff(
            "refund_approval_decided",
            approval_id=locked.pk,
            status=locked.status,
            approvals=approvals,
            required_approvals=locked.required_approvals,
        )
    return locked
