"""Readiness checks: one function per component, each returning a verdict."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import redis
from django.conf import settings
from django.db import connection


@dataclass(frozen=True)
class ComponentStatus:
    ok: bool
    detail: str
    latency_ms: float


def _timed(check: Callable[[], str]) -> ComponentStatus:
    start = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        detail = f"{exc.__class__.__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        ok = False
    return ComponentStatus(ok=ok, detail=detail, latency_ms=round((time.perf_counter() - start) * 1000, 1))


def check_postgres() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def check_pgvector() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the vector extension is not installed in this database")
    return f"pgvector {row[0]}"


def check_redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    client.ping()
    return "PONG"


def check_celery() -> str:
    from config.celery_app import app

    # limit=1: return as soon as one worker answers instead of waiting out the timeout.
    replies = app.control.ping(timeout=getattr(settings, "HEALTH_CELERY_TIMEOUT", 1.0), limit=1)
    if not replies:
        raise RuntimeError("no Celery worker answered")
    return f"{len(replies)} worker(s) answered"


TURN_WORKER_SEEN_SECONDS = 10


def check_turn_workers() -> str:
    """A turn worker said it was alive lately (a live one does every 2 s: apps.agents.turn_worker)."""
    from apps.agents.turn_queue import live_workers

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    live = live_workers(within_seconds=TURN_WORKER_SEEN_SECONDS, client=client)
    if not live:
        raise RuntimeError(f"no turn worker alive in the last {TURN_WORKER_SEEN_SECONDS} s")
    return f"{live} turn worker(s) alive"


READINESS_CHECKS: dict[str, Callable[[], str]] = {
    "postgres": check_postgres,
    "pgvector": check_pgvector,
    "redis": check_redis,
    "turn_workers": check_turn_workers,
    "celery": check_celery,
}


def readiness() -> tuple[bool, dict[str, dict]]:
    results: dict[str, ComponentStatus] = {}
    for name, check in READINESS_CHECKS.items():
        # Without Redis the broker is down too: skip the slow Celery ping.
        if name in ("celery", "turn_workers") and not results["redis"].ok:
            results[name] = ComponentStatus(ok=False, detail="skipped: Redis (the broker) is down", latency_ms=0.0)
            continue
        results[name] = _timed(check)
    return all(r.ok for r in results.values()), {name: asdict(r) for name, r in results.items()}
