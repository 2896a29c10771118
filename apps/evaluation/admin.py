"""Evaluation runs, read-only: they are records of what the suite measured."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.core.admin import ReadOnlyAdminMixin
from apps.evaluation.models import EvaluationRun, ScenarioResult


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Visible, not editable: these rows are written by services."""


class ScenarioResultInline(admin.TabularInline):
    model = ScenarioResult
    fields = ("name", "turns", "route_ok", "tools_ok", "db_ok", "replies_ok", "passed", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EvaluationRun)
class EvaluationRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "started_at", "model", "suite", "scenarios", "passed", "pass_rate", "duration_seconds")
    list_filter = ("model",)
    inlines = [ScenarioResultInline]


@admin.register(ScenarioResult)
class ScenarioResultAdmin(ReadOnlyAdmin):
    list_display = ("name", "run", "passed", "route_ok", "tools_ok", "db_ok", "replies_ok", "turns", "duration_ms")
    list_filter = ("passed", "run__model")
    search_fields = ("name",)
