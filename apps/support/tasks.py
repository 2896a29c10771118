"""Celery interface of the support desk: load by id, call one service. Safe to run twice."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail


@shared_task(acks_late=True, ignore_result=True)
def execute_refund_approval(approval_id: int) -> None:
    """Execute an approved refund request exactly once (see `refund_approval_execute`)."""
    from apps.support.services import refund_approval_execute

    refund_approval_execute(approval_id=approval_id)


@shared_task(acks_late=True, ignore_result=True)
def sweep_refund_approvals() -> None:
    """Beat job: escalate requests waiting too long to the leads; re-queue approved ones never executed."""
    from apps.support.services import refund_approvals_escalate_overdue, refund_approvals_requeue_stuck

    refund_approvals_escalate_overdue()
    refund_approvals_requeue_stuck()


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OSError, SMTPException),
    retry_backoff=30,
    retry_backoff_max=1800,
    max_retries=8,
)
def send_staff_email(subject: str, body: str, recipients: list[str]) -> None:
    """Email staff (the leads' escalation notice), retried while the mail server is unreachable."""
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)


@shared_task(acks_late=True, ignore_result=True)
def refresh_outcomes() -> None:
    """Beat job: recompute the outcome dashboard's per-conversation facts (idempotent; readers never wait)."""
    from apps.support.dashboard import outcomes_refresh

    outcomes_refresh()
