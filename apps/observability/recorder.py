"""Collect a turn's trace in memory and write it once, at the end, in one statement.

A turn runs partly in the worker's main thread (database work) and partly on an
event loop (model calls, streaming), so appends are guarded by a lock. Nothing
here touches the database until `persist()`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from apps.observability.models import Span, SpanKind, Trace, TraceStatus

RESULT_SUMMARY_CHARS = 500


def summarize(value: object, limit: int = RESULT_SUMMARY_CHARS) -> str:
    """A bounded, printable summary of a tool result or argument for the trace."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class SpanRecord:
    kind: str
    name: str
    started_at: datetime
    latency_ms: float = 0.0
    error: str = ""
    data: dict[str, Any] = field(default_factory=dict)


class TraceRecorder:
    """The trace of one turn, built in memory.

    `span()` times a block; `add()` records a finished step. Model and tool
    spans also update the totals the budgets read (`model_requests`,
    `tool_calls`, `input_tokens`, `output_tokens`, `cost`).
    """

    def __init__(self, *, conversation: Any = None, message: Any = None, customer: Any = None) -> None:
        self.conversation = conversation
        self.message = message
        self.customer = customer
        self.started_at = timezone.now()
        self._t0 = time.perf_counter()
        self._lock = threading.Lock()
        self.spans: list[SpanRecord] = []
        self.route = ""
        self.route_confidence: float | None = None
        self.route_source = ""
        self.agent = ""
        self.status = TraceStatus.OK
        self.error = ""
        self.model_requests = 0
        self.tool_calls = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost = Decimal("0")
        self.model_seconds = 0.0
        self.trace: Trace | None = None

    # -- recording ---------------------------------------------------------
    def add(
        self,
        kind: str,
        name: str,
        *,
        latency_ms: float = 0.0,
        error: str = "",
        started_at: datetime | None = None,
        **data: Any,
    ) -> SpanRecord:
        record = SpanRecord(
            kind=kind,
            name=name[:120],
            started_at=started_at or timezone.now() - timedelta(milliseconds=latency_ms),
            latency_ms=round(latency_ms, 3),
            error=error,
            data=data,
        )
        with self._lock:
            self.spans.append(record)
            if kind == SpanKind.TOOL_CALL and data.get("executed", True):
                self.tool_calls += 1
            if kind == SpanKind.MODEL_CALL:
                if not error:
                    self.model_requests += 1
                self.input_tokens += int(data.get("input_tokens") or 0)
                self.output_tokens += int(data.get("output_tokens") or 0)
                self.cost += Decimal(str(data.get("cost") or "0"))
                self.model_seconds += latency_ms / 1000
        return record

    @contextmanager
    def span(self, kind: str, name: str, **data: Any) -> Iterator[dict[str, Any]]:
        """Time the block; the yielded dict becomes the span's data (add to it freely).

        An exception is recorded on the span and re-raised.
        """
        started = timezone.now()
        t0 = time.perf_counter()
        payload: dict[str, Any] = dict(data)
        error = ""
        try:
            yield payload
        except BaseException as exc:
            error = f"{type(exc).__name__}: {summarize(str(exc), 300)}"
            raise
        finally:
            self.add(
                kind, name, latency_ms=(time.perf_counter() - t0) * 1000, error=error, started_at=started, **payload
            )

    def set_route(self, *, route: str, confidence: float | None, source: str) -> None:
        self.route, self.route_confidence, self.route_source = route, confidence, source

    def fail(self, error: str) -> None:
        self.status = TraceStatus.FAILED
        self.error = error

    @property
    def elapsed_seconds(self) -> float:
        return time.perf_counter() - self._t0

    def spans_of(self, kind: str) -> list[SpanRecord]:
        with self._lock:
            return [s for s in self.spans if s.kind == kind]

    # -- persisting --------------------------------------------------------
    def persist(self) -> Trace:
        """Write the trace and its spans in one statement (`_trace_insert`).

        Inside a transaction no savepoint of its own: the turn wraps this call in one (`turns._persist_trace`),
        and a second would be two more statements per turn."""
        latency_ms = round(self.elapsed_seconds * 1000, 3)
        with self._lock:
            spans = list(self.spans)
        trace = Trace(
            conversation=self.conversation,
            message=self.message,
            customer=self.customer,
            route=self.route,
            route_confidence=self.route_confidence,
            route_source=self.route_source[:16],
            agent=self.agent[:20],
            status=self.status,
            model_requests=self.model_requests,
            tool_calls=self.tool_calls,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost=self.cost.quantize(Decimal("0.000001")),
            latency_ms=latency_ms,
            error=self.error,
            started_at=self.started_at,
            ended_at=timezone.now(),
        )
        _trace_insert(trace, spans)
        self.trace = trace
        return trace


_TRACE_FIELDS = [f for f in Trace._meta.concrete_fields if not f.primary_key]
_TRACE_INSERT = (
    f"WITH t AS (INSERT INTO {Trace._meta.db_table} "  # noqa: S608 - constant names, bound values
    f"({', '.join(f.column for f in _TRACE_FIELDS)}) VALUES ({', '.join('%s' for _ in _TRACE_FIELDS)}) RETURNING id), "
    f"s AS (INSERT INTO {Span._meta.db_table} "
    "(trace_id, position, kind, name, started_at, ended_at, latency_ms, error, data) "
    "SELECT t.id, x.position, x.kind, x.name, x.started_at, x.ended_at, x.latency_ms, x.error, x.data "
    "FROM t, jsonb_to_recordset(%s::jsonb) AS x(position integer, kind text, name text, started_at timestamptz, "
    "ended_at timestamptz, latency_ms double precision, error text, data jsonb)) "
    "SELECT id FROM t"
)


def _trace_insert(trace: Trace, spans: list[SpanRecord]) -> None:
    """The trace row and its spans in one statement: the trace's values as the ORM's INSERT prepares them
    (`get_db_prep_save`), the spans as one JSON document of rows; sets `trace.pk`.

    The ORM's INSERT of the trace compiled for longer than PostgreSQL took to run it, and `bulk_create` of the spans
    sent them as one PostgreSQL array per column (UNNEST), which psycopg escapes element by element with a regular
    expression in Python: the spans' data made that most of the trace's CPU (issue 14). Same rows: the columns are
    typed by the record, and the text columns still meet their length limits."""
    rows = [
        {
            "position": i,
            "kind": str(s.kind),
            "name": str(s.name),
            "started_at": s.started_at.isoformat(),
            "ended_at": (s.started_at + timedelta(milliseconds=s.latency_ms)).isoformat(),
            "latency_ms": float(s.latency_ms),
            "error": str(s.error),
            "data": _jsonable(s.data),
        }
        for i, s in enumerate(spans)
    ]
    values = [f.get_db_prep_save(getattr(trace, f.attname), connection) for f in _TRACE_FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(_TRACE_INSERT, [*values, json.dumps(rows)])
        trace.pk = cursor.fetchone()[0]
    trace._state.adding = False
    trace._state.db = connection.alias


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    kind = type(value)
    if kind in _PLAIN:  # most of a span's values: one set lookup instead of the chain below
        return value
    if kind is dict:
        return {k if type(k) is str else str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return summarize(value)
