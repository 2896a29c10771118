"""Escalations: conversations handed to a person, taken over, handed back or resolved through the services."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from apps.core.admin import ReadOnlyAdminMixin
from apps.support.admin.common import apply_action, ask_for_reason, transcript_link
from apps.support.models import Escalation, EscalationStatus
from apps.support.services import escalation_hand_back, escalation_resolve, escalation_take_over


class ResolutionForm(forms.Form):
    reason = forms.SlugField(
        label="Resolution code", max_length=40, help_text="e.g. resolved, refunded, duplicate, no_response"
    )


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Rows change only through the support services (admin actions call them).
    list_display = ("id", "created_at", "reason_code", "status", "taken_by", "conversation_link", "note")
    list_filter = ("status", "reason_code")
    list_select_related = ("conversation", "taken_by")
    ordering = ("created_at", "id")
    actions = ("take_over", "hand_back", "resolve")
    fields = (
        "conversation_link",
        "reason_code",
        "status",
        "note",
        "taken_by",
        "created_at",
        "taken_at",
        "handed_back_at",
        "resolved_at",
        "resolution_code",
    )
    readonly_fields = fields

    def has_work_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and (
            request.user.has_perm("support.change_escalation")
            or request.user.has_perm("conversations.takeover_conversation")
        )

    @admin.display(description="conversation")
    def conversation_link(self, obj: Escalation) -> str:
        return transcript_link(obj.conversation)

    @admin.action(description="Take over (pause the bot, assign to me)", permissions=["work"])
    def take_over(self, request: HttpRequest, queryset: QuerySet) -> None:
        apply_action(
            request, queryset, lambda e: escalation_take_over(escalation=e, staff_user=request.user), "taken over"
        )

    @admin.action(description="Hand back to the bot", permissions=["work"])
    def hand_back(self, request: HttpRequest, queryset: QuerySet) -> None:
        apply_action(
            request, queryset, lambda e: escalation_hand_back(escalation=e, staff_user=request.user), "handed back"
        )

    @admin.action(description="Resolve and close the conversation…", permissions=["work"])
    def resolve(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = ResolutionForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            code = form.cleaned_data["reason"]
            apply_action(
                request,
                queryset.filter(status__in=[EscalationStatus.OPEN, EscalationStatus.TAKEN]),
                lambda e: escalation_resolve(escalation=e, staff_user=request.user, resolution_code=code),
                "resolved",
            )
            return None
        return ask_for_reason(
            self, request, queryset, form=form, action="resolve", title="Resolve escalations", submit_label="Resolve"
        )
