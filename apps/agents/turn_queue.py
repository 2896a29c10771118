"""The turn queue: a Redis stream that the turn workers (`apps.agents.turn_worker`) read as one consumer group.

    turn_queue_admit()              # before a customer message is stored: refuses with `busy` when full
    turn_enqueue(message_id=...)    # after commit: the one way a turn is queued

An entry holds the customer message's id only (the worker loads by id). Entries stay in the stream until a
worker has finished the turn, so the stream's length is the backlog (waiting plus running turns); above
`SWITCHBOARD_TURN_QUEUE_MAX_LENGTH` new messages are refused with `busy` and the client sends the same
message again after `retry_after` seconds (idempotent on its client id). Docs: docs/scaling.md.
"""

from __future__ import annotations

import os
import threading
import time

import redis
from django.conf import settings

from apps.core.errors import ApplicationError

GROUP = "turn-workers"
BUSY_MESSAGE = "We are busy right now; your message will be sent again in a few seconds."

_clients: dict[int, redis.Redis] = {}
_clients_lock = threading.Lock()


def stream_key() -> str:
    return settings.SWITCHBOARD_TURN_STREAM


def workers_key() -> str:
    """A sorted set: each live turn worker and when it last said so (it does every `ALIVE_EVERY_SECONDS`)."""
    return f"{settings.SWITCHBOARD_TURN_STREAM}:workers"


ALIVE_EVERY_SECONDS = 2.0


def live_workers(*, within_seconds: float, client: redis.Redis | None = None) -> int:
    """How many turn workers said they were alive in the last `within_seconds`."""
    return int((client or queue_client()).zcount(workers_key(), time.time() - within_seconds, "+inf"))


def queue_client() -> redis.Redis:
    """One connection pool per process (thread-safe; a forked child makes its own)."""
    pid = os.getpid()
    client = _clients.get(pid)
    if client is None:
        with _clients_lock:
            client = _clients.get(pid)
            if client is None:
                client = _clients[pid] = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=10)
    return client


def turn_queue_length() -> int:
    return int(queue_client().xlen(stream_key()))


def turn_queue_admit() -> None:
    """Refuse a new customer message while the backlog is at its limit (explicit back-pressure)."""
    limit = settings.SWITCHBOARD_TURN_QUEUE_MAX_LENGTH
    if limit and turn_queue_length() >= limit:
        raise ApplicationError(
            BUSY_MESSAGE, code="busy", extra={"retry_after": settings.SWITCHBOARD_TURN_BUSY_RETRY_SECONDS}
        )


def turn_enqueue(*, message_id: int) -> str:
    """Queue the bot's turn for a stored customer message; returns the stream entry's id.

    Safe to call twice for one message: the turn itself answers a message once (apps.agents.turns)."""
    return queue_client().xadd(stream_key(), {"kind": "turn", "message": str(message_id)}).decode()


def echo_enqueue(*, group: str, token: str) -> str:
    """An entry that does no work but one "echo" event to a channel-layer group: the queue's empty round trip,
    which bench/bench_turn_throughput.py measures as the floor under a turn."""
    return queue_client().xadd(stream_key(), {"kind": "echo", "group": group, "token": token}).decode()
