"""Pending write actions, read-only: staff see what the bot is waiting for customers to confirm."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from apps.agents.models import PendingAction


@admin.register(PendingAction)
class PendingActionAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "conversation", "agent", "tool_name", "summary", "status", "expires_at"]
    list_filter = ["status", "tool_name", "agent"]
    search_fields = ["summary", "conversation__public_id"]
    date_hierarchy = "created_at"
    list_select_related = ["conversation"]
    readonly_fields = [f.name for f in PendingAction._meta.fields]

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
