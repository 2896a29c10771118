"""Celery tasks the support desk's services queue: load by id, call one service. Safe to run twice.

The periodic jobs, which call services that queue these, are in `apps.support.beat`: services import
this module and never the other way round (a task imports its service inside its body, because
importing `apps.support.services` imports the services that import this module).
"""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction


@shared_task(acks_late=True, ignore_result=True)
def execute_refund_approval(approval_id: int) -> None:
    """Execute an approved refund request exactly once (see `refund_approval_execute`)."""
    from apps.support.services.approvals.execution import refund_approval_execute

    refund_approval_execute(approval_id=approval_id)


def refund_approval_enqueue_execution(approval_id: int) -> None:
    """Queue `execute_refund_approval` once the current transaction commits."""
    transaction.on_commit(lambda: execute_refund_approval.delay(approval_id))


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
