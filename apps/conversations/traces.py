"""Read the runtime's per-turn traces (apps.observability) for the console and the review.

The observability models belong to the runtime; this module only reads them
and adapts to their shape (which relation points at the conversation or the
message, which field holds the cost), so the review keeps working while that
app evolves. With no Trace model installed every function returns "nothing".
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models import OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from apps.conversations.models import Conversation, Message

_SKIP = {"id", "trace"}


def trace_model() -> type[models.Model] | None:
    try:
        return apps.get_model("observability", "Trace")
    except LookupError:
        return None


def _fk_to(model: type[models.Model], target: type[models.Model]) -> str | None:
    for field in model._meta.get_fields():
        if isinstance(field, models.ForeignKey | models.OneToOneField) and field.related_model is target:
            return field.name
    return None


def _cost_field(model: type[models.Model]) -> str | None:
    for field in model._meta.concrete_fields:
        if "cost" in field.name and isinstance(field, models.DecimalField | models.FloatField):
            return field.name
    return None


def _conversation_filter(model: type[models.Model]) -> str | None:
    if name := _fk_to(model, Conversation):
        return name
    if name := _fk_to(model, Message):
        return f"{name}__conversation"
    return None


def annotate_cost(qs: QuerySet[Conversation]) -> QuerySet[Conversation]:
    """`cost` on each conversation: the sum of its turns' traced cost (0 when untraced)."""
    trace = trace_model()
    zero = Value(Decimal("0"), output_field=models.DecimalField(max_digits=12, decimal_places=6))
    if trace is None or (cost := _cost_field(trace)) is None or (path := _conversation_filter(trace)) is None:
        return qs.annotate(cost=zero)
    total = (
        trace.objects.filter(**{path: OuterRef("pk")})
        .order_by()
        .values(path)
        .annotate(total=Sum(cost))
        .values("total")[:1]
    )
    return qs.annotate(cost=Coalesce(Subquery(total, output_field=models.DecimalField()), zero))


def filter_min_cost(qs: QuerySet[Conversation], min_cost: float) -> QuerySet[Conversation]:
    return qs.filter(cost__gte=Decimal(str(min_cost)))


def _row(obj: models.Model) -> list[tuple[str, Any]]:
    """A span or trace as (field, value) pairs for display, relations left out."""
    out = []
    for field in obj._meta.concrete_fields:
        if field.name in _SKIP or field.is_relation:
            continue
        value = getattr(obj, field.attname)
        if value in (None, "", [], {}):
            continue
        out.append((field.name, value))
    return out


def _spans(trace: models.Model) -> list[models.Model]:
    for rel in trace._meta.related_objects:
        if rel.related_model._meta.model_name == "span":
            names = {f.name for f in rel.related_model._meta.concrete_fields}
            order = [n for n in ("position", "started_at", "id") if n in names]
            return list(getattr(trace, rel.get_accessor_name()).all().order_by(*order))
    return []


def trace_view(trace: models.Model) -> dict[str, Any]:
    return {
        "id": trace.pk,
        "fields": _row(trace),
        "spans": [{"kind": _kind(s), "fields": _row(s)} for s in _spans(trace)],
    }


def _kind(span: models.Model) -> str:
    for name in ("kind", "type", "name"):
        if value := getattr(span, name, ""):
            return str(value)
    return "span"


def traces_for(*, conversation: Conversation, messages: list[Message]) -> dict[int, dict[str, Any]]:
    """Map each bot reply (by message pk) to the trace of the turn that wrote it."""
    trace = trace_model()
    if trace is None:
        return {}
    message_fk = _fk_to(trace, Message)
    path = _conversation_filter(trace)
    if message_fk is None or path is None:
        return {}
    by_message = {getattr(t, f"{message_fk}_id"): t for t in trace.objects.filter(**{path: conversation})}
    out: dict[int, dict[str, Any]] = {}
    for m in messages:
        # A turn's trace hangs off the customer message it answers or off the reply itself.
        t = by_message.get(m.pk) or (by_message.get(m.in_reply_to_id) if m.in_reply_to_id else None)
        if t is not None and m.role == "assistant":
            out[m.pk] = trace_view(t)
    return out


def trace_export(*, conversation: Conversation) -> list[dict[str, Any]]:
    trace = trace_model()
    if trace is None or (path := _conversation_filter(trace)) is None:
        return []
    return [
        {
            "fields": {k: _jsonable(v) for k, v in _row(t)},
            "spans": [{k: _jsonable(v) for k, v in _row(s)} for s in _spans(t)],
        }
        for t in trace.objects.filter(**{path: conversation}).order_by("pk")
    ]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
