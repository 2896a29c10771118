"""Tickets: the support desk's work queue ordered by SLA, worked through the ticket services."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apps.conversations.attachments import attachments_html
from apps.core.admin import ReadOnlyAdminMixin
from apps.support.admin.common import apply_action, transcript_link
from apps.support.models import Ticket, TicketStatus
from apps.support.services import ticket_assign, ticket_set_status


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Rows change only through the support services (admin actions call them).
    list_display = (
        "reference",
        "subject",
        "status",
        "priority",
        "category",
        "assignee",
        "sla_due_at",
        "sla_state",
        "customer",
        "created_at",
    )
    list_filter = ("status", "priority", "category", "assignee")
    list_select_related = ("assignee", "customer")
    search_fields = ("subject", "description", "customer__email", "orders__number")
    ordering = ("sla_due_at", "id")
    actions = ("assign_to_me", "mark_pending", "mark_solved", "reopen", "close")
    fields = (
        "subject",
        "description",
        "status",
        "priority",
        "category",
        "customer",
        "orders",
        "conversation_link",
        "customer_photos",
        "assignee",
        "sla_due_at",
        "created_by_label",
        "created_at",
        "solved_at",
        "closed_at",
    )
    readonly_fields = fields

    def has_work_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.has_perm("support.change_ticket")

    @admin.display(description="SLA")
    def sla_state(self, obj: Ticket) -> str:
        if obj.status in (TicketStatus.SOLVED, TicketStatus.CLOSED):
            return "met" if (obj.solved_at or obj.closed_at or obj.sla_due_at) <= obj.sla_due_at else "missed"
        return "overdue" if obj.sla_due_at < timezone.now() else "on time"

    @admin.display(description="conversation")
    def conversation_link(self, obj: Ticket) -> str:
        return transcript_link(obj.conversation)

    @admin.display(description="photos from the customer")
    def customer_photos(self, obj: Ticket) -> str:
        return attachments_html(obj.conversation)

    @admin.action(description="Assign to me", permissions=["work"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet) -> None:
        apply_action(
            request, queryset, lambda t: ticket_assign(ticket=t, assignee=request.user, actor=request.user), "assigned"
        )

    def _status_action(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        apply_action(
            request, queryset, lambda t: ticket_set_status(ticket=t, status=status, actor=request.user), status
        )

    @admin.action(description="Mark pending (waiting on customer)", permissions=["work"])
    def mark_pending(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._status_action(request, queryset, TicketStatus.PENDING)

    @admin.action(description="Mark solved", permissions=["work"])
    def mark_solved(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._status_action(request, queryset, TicketStatus.SOLVED)

    @admin.action(description="Reopen", permissions=["work"])
    def reopen(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._status_action(request, queryset, TicketStatus.OPEN)

    @admin.action(description="Close", permissions=["work"])
    def close(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._status_action(request, queryset, TicketStatus.CLOSED)
