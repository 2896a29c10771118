"""Read-only views of traces: operators inspect, nobody edits history.

A step's data is shown with customer data masked (names, addresses, phones...), as in the review."""

from __future__ import annotations

import json

from django.contrib import admin

from apps.core.admin import ReadOnlyAdminMixin
from apps.guardrails.operators import operator_data
from apps.observability.models import Span, Trace


class ReadOnlyMixin(ReadOnlyAdminMixin):
    """Visible, not editable: these rows are written by services."""


class SpanInline(ReadOnlyMixin, admin.TabularInline):
    model = Span
    extra = 0
    can_delete = False
    fields = ["position", "kind", "name", "latency_ms", "error", "masked_data"]
    readonly_fields = fields
    ordering = ["position"]

    @admin.display(description="data")
    def masked_data(self, obj: Span) -> str:
        return _masked(obj)


@admin.register(Trace)
class TraceAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "started_at",
        "conversation",
        "route",
        "route_confidence",
        "agent",
        "status",
        "model_requests",
        "tool_calls",
        "input_tokens",
        "output_tokens",
        "cost",
        "latency_ms",
    ]
    list_filter = ["status", "route", "route_source", "agent"]
    search_fields = ["conversation__public_id", "error"]
    date_hierarchy = "started_at"
    list_select_related = ["conversation"]
    readonly_fields = [f.name for f in Trace._meta.fields]
    inlines = [SpanInline]


@admin.register(Span)
class SpanAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["id", "trace", "position", "kind", "name", "latency_ms", "error"]
    list_filter = ["kind"]
    search_fields = ["name"]
    exclude = ["data"]  # shown masked below
    readonly_fields = [*(f.name for f in Span._meta.fields if f.name != "data"), "masked_data"]

    @admin.display(description="data")
    def masked_data(self, obj: Span) -> str:
        return _masked(obj)


def _masked(span: Span) -> str:
    return json.dumps(operator_data(span.data), ensure_ascii=False, indent=1, default=str)
