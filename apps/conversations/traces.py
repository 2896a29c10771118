"""Read the runtime's per-turn traces (apps.observability) for the review and the console.

A turn reads as a timeline: its route, then every step (guardrail verdicts, model calls with
tokens and cost, tool calls with arguments and result, the reply) at its offset from the turn's
start and with its duration, to the millisecond. A step's raw data stays behind a toggle and is
fetched when opened (`step_data`), so a long conversation's page carries its timelines, not its JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from apps.conversations.models import Conversation, Message
from apps.observability.models import Span, SpanKind, Trace

BAR_WIDTH = 1000  # the timeline's SVG viewBox width; bars are placed in these units
SUMMARY_CHARS = 160


def annotate_cost(qs: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """`cost` on each conversation: the sum of its turns' traced cost (0 when untraced)."""
    zero = Value(Decimal("0"), output_field=models.DecimalField(max_digits=12, decimal_places=6))
    total = (
        Trace.objects.filter(conversation=OuterRef("pk"))
        .order_by()
        .values("conversation")
        .annotate(total=Sum("cost"))
        .values("total")[:1]
    )
    return qs.annotate(cost=Coalesce(Subquery(total, output_field=models.DecimalField()), zero))


def filter_min_cost(qs: QuerySet[Conversation], min_cost: float) -> QuerySet[Conversation]:
    return qs.filter(cost__gte=Decimal(str(min_cost)))


@dataclass(frozen=True)
class Step:
    span_id: int
    kind: str
    kind_label: str
    name: str
    offset_ms: float
    duration_ms: float
    summary: str
    error: str
    has_data: bool
    bar_x: int
    bar_width: int
    failed: bool = False


@dataclass(frozen=True)
class Timeline:
    id: int
    route: str
    route_confidence: float | None
    route_source: str
    agent: str
    status: str
    status_label: str
    latency_ms: float
    input_tokens: int
    output_tokens: int
    cost: Decimal
    model_requests: int
    tool_calls: int
    error: str
    steps: list[Step] = field(default_factory=list)


def _short(value: Any, limit: int = SUMMARY_CHARS) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _summary(span: Span, data: Any) -> str:
    d = data or {}
    if span.kind == SpanKind.MODEL_CALL:
        parts = [f"{d.get('input_tokens', 0)} in / {d.get('output_tokens', 0)} out tokens"]
        if d.get("cost") not in (None, "", "0"):
            parts.append(f"cost {d['cost']}")
        if d.get("retries"):
            parts.append(f"{d['retries']} retries")
        if d.get("fallback_used"):
            parts.append("fallback")
        if d.get("recovered_with"):
            parts.append(f"recovered with {d['recovered_with']}")
        return " · ".join(parts)
    if span.kind == SpanKind.TOOL_CALL:
        arguments = _short(d.get("arguments", {}), 60)
        result = _short(d.get("result", ""), 60)
        return f"{arguments} → {result}" if result else arguments
    if span.kind == SpanKind.GUARDRAIL:
        flagged = [
            str(v.get("check") or v.get("name") or "?") + (f" {v.get('action')}" if v.get("action") else "")
            for v in d.get("verdicts", [])
            if isinstance(v, dict) and str(v.get("action", "allow")) not in ("allow", "")
        ]
        verdict = str(d.get("action", ""))
        if d.get("blocked"):
            verdict = "blocked"
        return verdict + (f" ({', '.join(flagged)})" if flagged else "")
    if span.kind == SpanKind.ROUTING:
        bits = [f"{k} {d[k]}" for k in ("route", "confidence", "source", "agent", "prompt_version") if d.get(k)]
        return " · ".join(str(b) for b in bits)
    if span.kind == SpanKind.HANDOFF:
        return str(d.get("reason_code", ""))
    return _short({k: v for k, v in d.items() if k not in ("text",)}, 120) if d else ""


def timeline(trace: Trace, spans: list[Span], *, mask: Callable[[Any], Any] | None = None) -> Timeline:
    """`mask` (operator views: personal data masked) is applied to each step's data before it is summarised."""
    start = min([trace.started_at, *(s.started_at for s in spans)])
    ends = [s.started_at.timestamp() * 1000 + s.latency_ms - start.timestamp() * 1000 for s in spans]
    total = max([trace.latency_ms, *ends, 1.0])
    labels = dict(SpanKind.choices)
    steps = []
    for span in spans:
        offset = (span.started_at - start).total_seconds() * 1000
        x = int(BAR_WIDTH * offset / total)
        steps.append(
            Step(
                span_id=span.pk,
                kind=span.kind,
                kind_label=labels.get(span.kind, span.kind),
                name=span.name,
                offset_ms=round(offset, 1),
                duration_ms=round(span.latency_ms, 1),
                summary=_summary(span, mask(span.data) if mask else span.data),
                error=span.error,
                has_data=bool(span.data),
                bar_x=min(x, BAR_WIDTH - 3),
                bar_width=max(3, min(BAR_WIDTH - x, int(BAR_WIDTH * span.latency_ms / total))),
                failed=bool(span.error) or bool((span.data or {}).get("blocked")),
            )
        )
    return Timeline(
        id=trace.pk,
        route=trace.route,
        route_confidence=trace.route_confidence,
        route_source=trace.route_source,
        agent=trace.agent,
        status=trace.status,
        status_label=trace.get_status_display(),
        latency_ms=round(trace.latency_ms, 1),
        input_tokens=trace.input_tokens,
        output_tokens=trace.output_tokens,
        cost=trace.cost,
        model_requests=trace.model_requests,
        tool_calls=trace.tool_calls,
        error=trace.error,
        steps=steps,
    )


def traces_for(
    *, conversation: Conversation, messages: list[Message], mask: Callable[[Any], Any] | None = None
) -> dict[int, Timeline]:
    """Map each bot reply (by message pk) to the timeline of the turn that wrote it (two queries)."""
    traces = list(Trace.objects.filter(conversation=conversation).order_by("started_at", "id"))
    spans: dict[int, list[Span]] = {}
    for span in Span.objects.filter(trace__in=[t.pk for t in traces]).order_by("trace_id", "position"):
        spans.setdefault(span.trace_id, []).append(span)
    by_message = {t.message_id: t for t in traces if t.message_id}
    out: dict[int, Timeline] = {}
    for m in messages:
        # A turn's trace hangs off the customer message it answers or off the reply itself.
        t = by_message.get(m.pk) or (by_message.get(m.in_reply_to_id) if m.in_reply_to_id else None)
        if t is not None and m.role == "assistant":
            out[m.pk] = timeline(t, spans.get(t.pk, []), mask=mask)
    return out


def step_data(*, conversation: Conversation, span_id: int) -> dict[str, Any] | None:
    """One step's raw data, if that step belongs to a turn of this conversation."""
    span = Span.objects.filter(pk=span_id, trace__conversation=conversation).only("data").first()
    return None if span is None else span.data


_TRACE_FIELDS = (
    "route",
    "route_confidence",
    "route_source",
    "agent",
    "status",
    "model_requests",
    "tool_calls",
    "input_tokens",
    "output_tokens",
    "cost",
    "latency_ms",
    "error",
    "started_at",
    "ended_at",
)
_SPAN_FIELDS = ("position", "kind", "name", "started_at", "ended_at", "latency_ms", "error", "data")


def trace_export(*, conversation: Conversation) -> list[dict[str, Any]]:
    out = []
    for t in Trace.objects.filter(conversation=conversation).prefetch_related("spans").order_by("pk"):
        out.append(
            {
                "fields": {k: _jsonable(getattr(t, k)) for k in _TRACE_FIELDS} | {"message": t.message_id},
                "spans": [{k: _jsonable(getattr(s, k)) for k in _SPAN_FIELDS} for s in t.spans.all()],
            }
        )
    return out


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
