"""Pending write actions, read-only: staff see what the bot is waiting for customers to confirm."""

from __future__ import annotations

from django.contrib import admin

from apps.agents.models import PendingAction
from apps.core.admin import ReadOnlyAdminMixin


@admin.register(PendingAction)
class PendingActionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "conversation", "agent", "tool_name", "summary", "status", "expires_at"]
    list_filter = ["status", "tool_name", "agent"]
    search_fields = ["summary", "conversation__public_id"]
    date_hierarchy = "created_at"
    list_select_related = ["conversation"]
    readonly_fields = [f.name for f in PendingAction._meta.fields]
