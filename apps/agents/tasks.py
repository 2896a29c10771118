"""Celery interface of the agent runtime: load by id, call the turn service."""

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def run_turn(message_id: int) -> None:
    from apps.agents.turns import turn_run

    turn_run(message_id=message_id)


@shared_task(acks_late=True, ignore_result=True)
def expire_pending_actions() -> int:
    """Beat job: mark write actions nobody confirmed in time as expired (resolution checks the time anyway)."""
    from apps.agents.pending import pending_actions_expire

    return pending_actions_expire()


@shared_task(ignore_result=True)
def echo_event(group: str, token: str) -> None:
    """The empty round trip (bench/bench_turn_throughput.py's floor): one "echo" event to a group's sockets."""
    from apps.conversations.events import send_to_group

    send_to_group(group, {"type": "chat.event", "event": "echo", "token": token})
