"""The turn workers (apps.agents.turn_worker) on the real test Redis and PostgreSQL: every customer message is
answered exactly once and in order, whether its entry is delivered twice, left by a dead worker, or its worker
is killed (SIGKILL, a real subprocess) in the middle of the turn."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.db import connection

from apps.agents.local import DEFAULT_REPLY
from apps.agents.turn_queue import GROUP, queue_client, stream_key, turn_enqueue, turn_queue_length
from apps.agents.turn_state import LOCK_NAMESPACE
from apps.agents.turns import TURN_ABANDONED_REPLY, turn_abandon, turn_run
from apps.conversations.models import Message, MessageRole, MessageStatus
from apps.observability.models import Trace, TraceStatus
from apps.support.models import Escalation
from tests.fakes.llm_server import hang, text
from tests.workers import turn_worker_burst, turn_worker_thread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("default_specialists")]

ROOT = Path(__file__).resolve().parents[2]


def _replies(message: Message) -> list[str]:
    return list(Message.objects.filter(in_reply_to=message, role=MessageRole.ASSISTANT).values_list("text", flat=True))


def _pending() -> int:
    return int(queue_client().xpending(stream_key(), GROUP)["pending"])


def _taken_by_a_dead_consumer(count: int = 10) -> list[bytes]:
    """A consumer reads entries and is never heard of again (its process died before acknowledging)."""
    client = queue_client()
    client.xgroup_create(stream_key(), GROUP, id="0")  # as the first worker does (the stream exists: a turn is queued)
    read = client.xreadgroup(GROUP, "dead-worker", {stream_key(): ">"}, count=count)
    return [entry_id for _stream, entries in read for entry_id, _fields in entries]


def _advisory_locks(conversation_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = %s AND objid = %s",
            [LOCK_NAMESPACE, conversation_id],
        )
        return cursor.fetchone()[0]


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_message_delivered_twice_is_answered_once(say: Any, pushed: list, route_to: Any) -> None:
    # given: one message whose turn is queued twice, served by two threads at once
    route_to("order")
    message = say("Where is my parcel?")
    turn_enqueue(message_id=message.pk)
    turn_enqueue(message_id=message.pk)
    # when
    done = turn_worker_burst(threads=2)
    # then: both entries are finished and acknowledged, one reply exists
    assert done == 2
    assert _replies(message) == [DEFAULT_REPLY]
    message.refresh_from_db()
    assert message.status == MessageStatus.ANSWERED
    assert (turn_queue_length(), _pending()) == (0, 0)


def test_a_conversations_messages_are_answered_in_the_order_they_were_written(
    say: Any, pushed: list, route_to: Any
) -> None:
    # given: two messages of one conversation whose turns reach the worker the wrong way round
    route_to("order")
    first = say("Where is my parcel?")
    second = say("And when will it arrive?")
    turn_enqueue(message_id=second.pk)
    turn_enqueue(message_id=first.pk)
    # when
    done = turn_worker_burst(threads=1)
    # then: the first message's reply comes first, each is answered once
    assert done == 2
    replies = list(
        Message.objects.filter(role=MessageRole.ASSISTANT).order_by("seq").values_list("in_reply_to", flat=True)
    )
    assert replies == [first.pk, second.pk]
    assert (turn_queue_length(), _pending()) == (0, 0)


def test_a_turn_left_by_a_dead_worker_is_reclaimed_and_answered_once(say: Any, pushed: list, route_to: Any) -> None:
    # given: a turn a worker took and never acknowledged
    route_to("order")
    message = say("Where is my parcel?")
    turn_enqueue(message_id=message.pk)
    taken = _taken_by_a_dead_consumer()
    # when: a live worker serves the stream with a short claim timeout
    done = turn_worker_burst(threads=1, claim_idle_seconds=0.2)
    # then
    assert len(taken) == 1
    assert done == 1
    assert _replies(message) == [DEFAULT_REPLY]
    assert (turn_queue_length(), _pending()) == (0, 0)


def test_a_turn_delivered_more_often_than_allowed_is_not_run_and_a_person_takes_it(
    say: Any, pushed: list, route_to: Any
) -> None:
    # given: a turn that already took one worker down, and at most one delivery allowed
    route_to("order")
    message = say("Where is my parcel?")
    turn_enqueue(message_id=message.pk)
    _taken_by_a_dead_consumer()
    # when
    done = turn_worker_burst(threads=1, claim_idle_seconds=0.2, max_deliveries=1)
    # then: the turn did not run again (no route, no model reply); the customer is told once and a person takes it
    assert done == 0
    assert _replies(message) == [TURN_ABANDONED_REPLY]
    message.refresh_from_db()
    assert message.status == MessageStatus.ANSWERED
    conversation = message.conversation
    conversation.refresh_from_db()
    assert conversation.bot_paused is True
    assert list(Escalation.objects.filter(conversation=conversation).values_list("reason_code", flat=True)) == [
        "repeated_failure"
    ]
    trace = Trace.objects.get(message=message)
    assert (trace.status, trace.route) == (TraceStatus.FAILED, "")
    assert (turn_queue_length(), _pending()) == (0, 0)


def test_an_abandoned_turn_already_answered_is_left_alone(say: Any, pushed: list, route_to: Any) -> None:
    # given: a message whose slow first delivery did answer it after all
    route_to("order")
    message = say("Where is my parcel?")
    turn_run(message_id=message.pk)
    # when
    reply = turn_abandon(message_id=message.pk)
    # then: no second reply, no escalation
    assert reply is None
    assert _replies(message) == [DEFAULT_REPLY]
    assert not Escalation.objects.filter(conversation=message.conversation).exists()


def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"]) + (":" + quote(db["PASSWORD"]) if db.get("PASSWORD") else "")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{quote(db['HOST'], safe='')}{port}/{db['NAME']}"


def test_a_turn_whose_worker_is_killed_mid_turn_is_answered_once_by_another(
    say: Any, route_to: Any, providers: Any, tmp_path: Path
) -> None:
    # given: a worker process that takes the turn and is inside it (lock held, waiting on the model) ...
    route_to("order")  # for the second worker, in this process (the killed one routes with its own classifier)
    providers.push(hang(300), text("Your parcel left our warehouse today."))
    settings_env = {
        "DATABASE_URL": _database_url(),
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": providers.openai_base_url,
        "SWITCHBOARD_AGENT_MODEL": "openai:gpt-4.1-mini",
        "SWITCHBOARD_AGENT_FALLBACKS": "",
        "SWITCHBOARD_TURN_CLAIM_IDLE_SECONDS": "3",
    }
    message = say("Where is my parcel?")
    turn_enqueue(message_id=message.pk)
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "turn_worker", "--threads", "1"],
        cwd=ROOT,
        env={**os.environ, **settings_env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait(lambda: len(providers.requests) >= 1, 300, "the worker's model call")
        locked_mid_turn = _advisory_locks(message.conversation_id)
        # ... when it is killed there
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
        log.close()
    _wait(lambda: _advisory_locks(message.conversation_id) == 0, 30, "PostgreSQL to release the dead lock")
    unanswered_after_kill = _replies(message)
    # and another worker serves the stream
    with turn_worker_thread(threads=1, claim_idle_seconds=1):
        _wait(lambda: _replies(message) and _pending() == 0, 120, "the other worker's answer")
    # then: the killed worker held the conversation's lock and answered nothing; the other answered once
    assert worker.returncode == -signal.SIGKILL, (tmp_path / "worker.log").read_text()[-3000:]
    assert locked_mid_turn == 1
    assert unanswered_after_kill == []
    assert _replies(message) == ["Your parcel left our warehouse today."]
    message.refresh_from_db()
    assert message.status == MessageStatus.ANSWERED
    assert len(providers.requests) == 2
    assert (turn_queue_length(), _pending()) == (0, 0)
