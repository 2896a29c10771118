"""The support desk's periodic Celery jobs (`CELERY_BEAT_SCHEDULE`, support block): each calls services. Idempotent."""

from __future__ import annotations

from celery import shared_task

from apps.support.dashboard import outcomes_refresh
from apps.support.services import refund_approvals_escalate_overdue, refund_approvals_requeue_stuck


@shared_task(acks_late=True, ignore_result=True)
def sweep_refund_approvals() -> None:
    """Escalate requests waiting too long to the leads; re-queue approved ones never executed."""
    refund_approvals_escalate_overdue()
    refund_approvals_requeue_stuck()


@shared_task(acks_late=True, ignore_result=True)
def refresh_outcomes() -> None:
    """Recompute the outcome dashboard's per-conversation facts (readers never wait)."""
    outcomes_refresh()
