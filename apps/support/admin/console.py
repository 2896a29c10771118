"""Admin screens of the staff console: saved replies (maintained by leads) and internal notes (read-only)."""

from __future__ import annotations

from django.contrib import admin

from apps.core.admin import ReadOnlyAdminMixin
from apps.support.models import InternalNote, SavedReply


@admin.register(SavedReply)
class SavedReplyAdmin(admin.ModelAdmin):
    # Configuration, not case data: leads edit the wording here; the console inserts the text.
    list_display = ("title", "is_active", "text_start", "updated_at")
    list_filter = ("is_active",)
    search_fields = ("title", "text")
    fields = ("title", "text", "is_active")

    @admin.display(description="text")
    def text_start(self, obj: SavedReply) -> str:
        return obj.text if len(obj.text) <= 80 else obj.text[:79] + "…"


@admin.register(InternalNote)
class InternalNoteAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Notes are written in the console (apps.support.services.console.internal_note_create).
    list_display = ("created_at", "author", "conversation", "text")
    list_select_related = ("author", "conversation")
    search_fields = ("text",)
    ordering = ("-created_at", "-id")
    fields = ("created_at", "author", "conversation", "text")
    readonly_fields = fields
