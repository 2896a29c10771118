"""Celery interface of the support desk: load by id, call one service. Safe to run twice."""

from __future__ import annotations

from celery import shared_task


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
