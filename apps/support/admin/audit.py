"""The support audit trail, read-only: one row per state change the services wrote."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import ReadOnlyAdminMixin
from apps.support.models import SupportAuditEvent


@admin.register(SupportAuditEvent)
class SupportAuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Rows change only through the support services (admin actions call them).
    list_display = ("created_at", "subject_type", "subject_id", "action", "from_state", "to_state", "actor_label")
    list_filter = ("subject_type", "action")
    search_fields = ("actor_label", "=subject_id")
    ordering = ("-created_at", "-id")
    readonly_fields = (
        "created_at",
        "subject_type",
        "subject_id",
        "action",
        "from_state",
        "to_state",
        "actor",
        "actor_label",
        "data",
    )
