"""Long-lived turn workers: one process per core reads the turn stream as one consumer group.

    manage.py turn_worker [--threads N] [--burst]

A process runs one asyncio loop that reads entries (`XREADGROUP`, as many as it has free threads) and hands
each turn to one of its threads (`apps.agents.turns.turn_run` is sync: the ORM, the tools), which keep their
event loop, database connection and Redis pools for the life of the process. An entry is acknowledged and
deleted (`XACK`, `XDEL`) only after its turn returned, so:

- a worker that dies mid-turn (SIGKILL, OOM, a lost machine) leaves its entries pending; a live worker
  claims them once they have been idle `SWITCHBOARD_TURN_CLAIM_IDLE_SECONDS` (`XAUTOCLAIM`). A live worker
  touches its running entries every third of that time (`XCLAIM ... JUSTID`), so a slow turn is not taken
  from it. Either way the turn answers once: the conversation's advisory lock and the "still unanswered"
  check after it (apps.agents.turns) make a second delivery a no-op;
- an entry delivered more than `SWITCHBOARD_TURN_MAX_DELIVERIES` times (a message that kills every worker
  that takes it) is not run again: it is reported, and `turns.turn_abandon` tells the customer and hands the
  conversation to a person (once, under the same lock), instead of killing workers forever;
- a turn that raised is not acknowledged either: it is retried after the idle timeout.

Nothing coordinates the workers but Redis (the group hands each entry to one consumer) and PostgreSQL (the
lock): start as many processes, on as many machines, as there are cores for them (docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis.asyncio as aioredis
from django.conf import settings
from django.db import close_old_connections

from apps.agents.turn_queue import ALIVE_EVERY_SECONDS, GROUP, stream_key, workers_key
from apps.core.allocator import limit_heap_retention
from apps.observability.errors import capture_exception

logger = logging.getLogger(__name__)


def _run_turn(message_id: int) -> None:
    """One turn on a worker thread."""
    from apps.agents.turns import turn_run

    _with_connection(turn_run, message_id)


def _abandon_turn(message_id: int) -> None:
    """A turn given up (see `_give_up`), answered on a worker thread."""
    from apps.agents.turns import turn_abandon

    _with_connection(turn_abandon, message_id)


def _with_connection(step: Any, message_id: int) -> None:
    """The thread's database connection is checked before and after, and kept per DATABASE_CONN_MAX_AGE."""
    close_old_connections()
    try:
        step(message_id=message_id)
    finally:
        close_old_connections()


def _entries(response: Any) -> list[tuple[bytes, dict[bytes, bytes] | None]]:
    """XREADGROUP's reply ([[stream, [(id, fields), ...]], ...], RESP2 as our clients speak) as (id, fields)."""
    return [(entry_id, fields) for _stream, entries in response or [] for entry_id, fields in entries]


class TurnWorker:
    """One consumer of the turn stream. `run()` until `stop()`; with `burst`, until nothing is left for it."""

    def __init__(
        self,
        *,
        threads: int | None = None,
        claim_idle_seconds: float | None = None,
        max_deliveries: int | None = None,
        burst: bool = False,
        consumer: str = "",
    ) -> None:
        self.threads = max(1, threads or settings.SWITCHBOARD_TURN_WORKER_THREADS)
        self.claim_idle_ms = int(1000 * (claim_idle_seconds or settings.SWITCHBOARD_TURN_CLAIM_IDLE_SECONDS))
        self.max_deliveries = max_deliveries or settings.SWITCHBOARD_TURN_MAX_DELIVERIES
        self.burst = burst
        self.consumer = consumer or f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.stream = stream_key()
        self.done = 0
        self.inflight: dict[bytes, asyncio.Task] = {}
        self._stop: asyncio.Event | None = None
        self._redis: aioredis.Redis | None = None
        self._pool: ThreadPoolExecutor | None = None

    # -- life ------------------------------------------------------------------------------------------
    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    async def run(self) -> int:
        """Serve until stopped; returns the number of entries finished."""
        self._stop = asyncio.Event()
        self._redis = aioredis.Redis.from_url(settings.REDIS_URL, socket_timeout=30)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="turn")
        beat_every = self.claim_idle_ms / 3000
        next_claim = next_beat = next_alive = 0.0
        try:
            await self._ensure_group()
            await self._forget_departed_consumers()
            while not self._stop.is_set():
                now = time.monotonic()
                try:
                    if now >= next_alive:
                        await self._alive()
                        next_alive = now + ALIVE_EVERY_SECONDS
                    if now >= next_beat:
                        await self._heartbeat()
                        next_beat = now + beat_every
                    free = self.threads - len(self.inflight)
                    if free <= 0:
                        await asyncio.wait(list(self.inflight.values()), timeout=1, return_when=asyncio.FIRST_COMPLETED)
                        continue
                    got = 0
                    if now >= next_claim:
                        got += await self._reclaim(free)
                        next_claim = now + min(beat_every, 5.0)
                        free = self.threads - len(self.inflight)
                    if free > 0:
                        got += await self._read(free)
                    if self.burst and not got and not self.inflight and not await self._pending_elsewhere():
                        break
                except (aioredis.ConnectionError, aioredis.TimeoutError) as exc:
                    # Redis restarting or out of reach: running turns go on; reading resumes when it is back.
                    logger.warning("turn worker %s: Redis unavailable (%s); retrying", self.consumer, exc)
                    await asyncio.sleep(1)
        finally:
            await self._finish()
        return self.done

    async def _finish(self) -> None:
        if self.inflight:
            grace = settings.SWITCHBOARD_TURN_MAX_SECONDS + 10
            logger.info("turn worker %s: waiting up to %.0f s for %d turns", self.consumer, grace, len(self.inflight))
            await asyncio.wait(list(self.inflight.values()), timeout=grace)
        if self._pool is not None:
            self._pool.shutdown(wait=not self.inflight, cancel_futures=True)
        if self._redis is not None:
            with contextlib.suppress(aioredis.RedisError):
                await self._redis.zrem(workers_key(), self.consumer)
            await self._redis.aclose()

    # -- reading ---------------------------------------------------------------------------------------
    async def _ensure_group(self) -> None:
        """The group, from the stream's start: entries added before any worker existed are served too."""
        try:
            await self._redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except aioredis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _read(self, count: int) -> int:
        # A read returns as soon as an entry arrives; blocking long only bounds how often an idle worker asks.
        block = 100 if self.burst else 1000
        try:
            response = await self._redis.xreadgroup(GROUP, self.consumer, {self.stream: ">"}, count=count, block=block)
        except aioredis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self._ensure_group()  # the stream was deleted (a flushed Redis): start again
            return 0
        entries = _entries(response)
        for entry_id, fields in entries:
            self._start(entry_id, fields)
        return len(entries)

    async def _reclaim(self, count: int) -> int:
        """Take over entries another consumer (a dead one) has left idle for the claim timeout."""
        try:
            reply = await self._redis.xautoclaim(self.stream, GROUP, self.consumer, self.claim_idle_ms, "0-0", count)
        except aioredis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self._ensure_group()
            return 0
        claimed = [(i, f) for i, f in reply[1] if i not in self.inflight]
        for entry_id, fields in claimed:
            if fields is None:  # deleted while pending
                await self._ack(entry_id)
                continue
            pending = await self._redis.xpending_range(self.stream, GROUP, entry_id, entry_id, 1)
            deliveries = pending[0]["times_delivered"] if pending else 1
            if deliveries > self.max_deliveries:
                await self._give_up(entry_id, fields, deliveries)
                await self._ack(entry_id)
                continue
            logger.warning("turn worker %s: reclaimed %s (delivery %d)", self.consumer, entry_id, deliveries)
            self._start(entry_id, fields)
        return len(claimed)

    async def _pending_elsewhere(self) -> bool:
        """Burst mode: entries other consumers hold (a dead one's wait for the claim timeout)."""
        summary = await self._redis.xpending(self.stream, GROUP)
        return bool(summary and summary.get("pending"))

    async def _alive(self) -> None:
        """Say this worker is alive (`/readyz` counts recent ones); forget those silent for an hour."""
        now = time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(workers_key(), {self.consumer: now})
            pipe.zremrangebyscore(workers_key(), "-inf", now - 3600)
            await pipe.execute()

    async def _heartbeat(self) -> None:
        """Reset the idle time of the entries this worker is running, so nobody reclaims a slow turn."""
        if self.inflight:
            try:
                await self._redis.xclaim(self.stream, GROUP, self.consumer, 0, list(self.inflight), justid=True)
            except aioredis.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    raise  # else the stream is gone (a flushed Redis): nothing left to keep

    async def _forget_departed_consumers(self) -> None:
        """Consumers of stopped processes with nothing pending, idle for an hour, leave the group's list."""
        for info in await self._redis.xinfo_consumers(self.stream, GROUP):
            if not info.get("pending") and info.get("idle", 0) > 3_600_000:
                await self._redis.xgroup_delconsumer(self.stream, GROUP, info["name"])

    # -- running ---------------------------------------------------------------------------------------
    def _start(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        task = asyncio.create_task(self._handle(entry_id, fields))
        self.inflight[entry_id] = task
        task.add_done_callback(lambda _task: self.inflight.pop(entry_id, None))

    async def _handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        kind = fields.get(b"kind", b"").decode()
        try:
            if kind == "turn":
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._pool, _run_turn, int(fields[b"message"]))
            elif kind == "echo":
                await _echo(fields[b"group"].decode(), fields[b"token"].decode())
            else:
                logger.error("turn worker %s: unknown entry %s %r, dropped", self.consumer, entry_id, fields)
        except Exception as exc:
            capture_exception(exc, stage="turn_worker", entry=entry_id.decode())
            logger.exception("turn worker %s: entry %s failed; it will be retried", self.consumer, entry_id)
            return
        try:
            await self._ack(entry_id)
        except (aioredis.ConnectionError, aioredis.TimeoutError):
            logger.warning("turn worker %s: could not acknowledge %s; it will be redelivered", self.consumer, entry_id)
            return  # the turn is answered: its redelivery finds it so and does nothing
        self.done += 1

    async def _ack(self, entry_id: bytes) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, GROUP, entry_id)
            pipe.xdel(self.stream, entry_id)
            await pipe.execute()

    async def _give_up(self, entry_id: bytes, fields: dict[bytes, bytes], deliveries: int) -> None:
        """Stop running a turn that keeps taking workers down; its customer still gets an answer: a person."""
        detail = {k.decode(): v.decode() for k, v in fields.items()}
        logger.error(
            "turn worker %s: entry %s %r was delivered %d times; dropped", self.consumer, entry_id, detail, deliveries
        )
        capture_exception(
            RuntimeError(f"turn entry dropped after {deliveries} deliveries"), stage="turn_worker", **detail
        )
        if detail.get("kind") != "turn":
            return
        try:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._pool, _abandon_turn, int(detail["message"]))
        except Exception as exc:  # noqa: BLE001 -- reported; the entry is dropped either way (it kills workers)
            capture_exception(exc, stage="turn_worker_abandon", entry=entry_id.decode())


async def _echo(group: str, token: str) -> None:
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    if layer is not None:
        await layer.group_send(group, {"type": "chat.event", "event": "echo", "token": token})


def serve(*, threads: int | None = None, burst: bool = False) -> int:
    """The process's life: warm the models, then consume until SIGTERM/SIGINT (or, with `burst`, until idle)."""
    limit_heap_retention()  # loading the models' arrays left 35 MiB of freed heap behind (apps.core.allocator)
    if getattr(settings, "SWITCHBOARD_WARM_MODELS", True):
        from apps.core.warmup import warm_models

        warm_models()
    worker = TurnWorker(threads=threads, burst=burst)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        logger.info("turn worker %s: %d threads on stream %s", worker.consumer, worker.threads, worker.stream)
        return await worker.run()

    done = asyncio.run(main())
    if worker.inflight:
        os._exit(0)  # turns still running after the grace period: their entries are reclaimed elsewhere
    return done
