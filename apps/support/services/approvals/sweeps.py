"""The beat job's side of refund requests: escalating the overdue ones to the leads, re-queueing stuck ones."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.accounts.roles import SUPPORT_LEAD
from apps.support.models import ApprovalStatus, RefundApproval
from apps.support.services.approvals.requests import RETURN_IN_TRANSIT, SUBJECT
from apps.support.services.audit import audit_record
from apps.support.services.notify import notify_staff
from apps.support.tasks import refund_approval_enqueue_execution, send_staff_email

logger = logging.getLogger(__name__)


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
            _notify_leads_of_overdue(approvals=overdue, now=now)
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
        refund_approval_enqueue_execution(approval_id)
    for approval_id in returned:
        logger.info("refund approval %s: its return is no longer in transit; executing", approval_id)
        refund_approval_enqueue_execution(approval_id)
    return stuck + returned


def _lead_emails() -> list[str]:
    users = get_user_model().objects.filter(groups__name=SUPPORT_LEAD, is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def _notify_leads_of_overdue(*, approvals: list[RefundApproval], now: datetime) -> None:
    recipients = _lead_emails()
    if not recipients:
        return
    base = settings.SUPPORT_SITE_URL.rstrip("/")
    lines = []
    for approval in approvals:
        hours = (now - approval.created_at).total_seconds() / 3600
        url = base + reverse("admin:support_refundapproval_change", args=[approval.pk])
        lines.append(
            f"- {approval.reference}: {approval.amount} {approval.currency} on order {approval.order.number}, "
            f"waiting {hours:.0f} h ({approval.decisions.count()}/{approval.required_approvals} approvals)\n  {url}"
        )
    hours_limit = settings.REFUND_APPROVAL_ESCALATE_AFTER_HOURS
    subject = f"[{settings.SHOP_NAME}] {len(approvals)} refund request(s) waiting over {hours_limit} h"
    body = (
        "These refund requests have not been decided in time and are escalated to you:\n\n"
        + "\n".join(lines)
        + f"\n\nThe queue: {base}{reverse('admin:support_refundapproval_changelist')}\n"
    )
    # Sent by a task with retries: a mail server hiccup must not lose the escalation notice.
    transaction.on_commit(lambda: send_staff_email.delay(subject, body, recipients))
