"""Celery interface of the agent runtime: beat jobs only. Turns run in the turn workers (apps.agents.turn_worker)."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def expire_pending_actions() -> int:
    """Beat job: mark write actions nobody confirmed in time as expired (resolution checks the time anyway)."""
    from apps.agents.pending import pending_actions_expire

    return pending_actions_expire()
