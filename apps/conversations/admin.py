"""Read-only admin views of conversations: changes go through the console and the services.

Customer-written text is shown masked (names, addresses, phones...: `operator_view`), as in the review."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.conversations.models import Conversation, ConversationEvent, Feedback, Message, ReplyFlag
from apps.conversations.operator_view import operator_text
from apps.core.admin import ReadOnlyAdminMixin


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Visible, not editable: these rows are written by services."""


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("seq", "role", "agent", "masked_text", "status", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("seq",)

    @admin.display(description="text")
    def masked_text(self, obj: Message) -> str:
        return operator_text(obj.text)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ("public_id", "customer", "verified_order", "channel", "status", "current_route", "csat_score")
    list_filter = ("status", "channel", "current_route")
    search_fields = ("public_id", "customer__email", "verified_order__number")
    exclude = ("csat_comment", "summary")  # shown masked below
    readonly_fields = ("review_link", "masked_csat_comment", "masked_summary")
    inlines = (MessageInline,)

    @admin.display(description="CSAT comment")
    def masked_csat_comment(self, obj: Conversation) -> str:
        return operator_text(obj.csat_comment)

    @admin.display(description="summary")
    def masked_summary(self, obj: Conversation) -> str:
        return operator_text(obj.summary)

    @admin.display(description="transcript review")
    def review_link(self, obj: Conversation) -> str:
        return format_html(
            '<a href="{}">open with traces</a>', reverse("conversations:review-detail", args=[obj.public_id])
        )


@admin.register(Feedback)
class FeedbackAdmin(ReadOnlyAdmin):
    list_display = ("message", "conversation", "rating", "created_at")
    list_filter = ("rating",)


@admin.register(ReplyFlag)
class ReplyFlagAdmin(ReadOnlyAdmin):
    list_display = ("message", "conversation", "flagged_by", "note", "created_at")


@admin.register(ConversationEvent)
class ConversationEventAdmin(ReadOnlyAdmin):
    list_display = ("conversation", "action", "actor", "created_at")
    list_filter = ("action",)
