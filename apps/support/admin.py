"""Staff screens: the refund approval queue, tickets, escalations and the audit trail.

Every change goes through `apps.support.services`; the admin only parses the
request, calls one service per object and reports what it said. Rows are
never edited directly here.
"""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.timesince import timesince

from apps.conversations.attachments import attachments_html
from apps.core.admin import ReadOnlyAdminMixin
from apps.core.errors import ApplicationError
from apps.support.models import (
    ApprovalDecision,
    ApprovalStatus,
    Escalation,
    EscalationStatus,
    RefundApproval,
    SupportAuditEvent,
    Ticket,
    TicketStatus,
)
from apps.support.services import (
    escalation_hand_back,
    escalation_resolve,
    escalation_take_over,
    refund_approval_decide,
    ticket_assign,
    ticket_set_status,
)

DECIDE_PERMISSION = "support.decide_refundapproval"


def _admin_link(viewname: str, pk: Any, label: str) -> str:
    try:
        return format_html('<a href="{}">{}</a>', reverse(viewname, args=[pk]), label)
    except NoReverseMatch:
        return label


def transcript_url(conversation: Any) -> str:
    """The operator review page (chat app) when it is installed, else the conversation in the admin."""
    for name, args in (
        ("conversations:review-detail", [conversation.public_id]),
        ("review:transcript", [conversation.public_id]),
        ("review_transcript", [conversation.public_id]),
    ):
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    try:
        return reverse("admin:conversations_conversation_change", args=[conversation.pk])
    except NoReverseMatch:
        return f"/review/{conversation.public_id}/"


def _report(request: HttpRequest, done: int, verb: str, refused: list[str]) -> None:
    if done:
        messages.success(request, f"{done} refund request(s) {verb}.")
    for line in refused:
        messages.error(request, line)


def policy_summary(check: dict[str, Any]) -> str:
    """One line for the queue: the commerce policy verdict stored with the request."""
    if "eligible" not in check:
        return "–"
    if check["eligible"]:
        if check.get("amount_within_policy") is False:
            return f"eligible, but the amount is above the policy's {check.get('refundable_amount')}"
        return f"eligible (policy refund {check.get('refundable_amount')})"
    messages_ = [r.get("message", "") for r in check.get("reasons") or []]
    for item in check.get("items") or []:
        messages_ += [r.get("message", "") for r in item.get("reasons") or []]
    text = "; ".join(m for m in messages_ if m)
    return f"NOT eligible: {text}" if text else "NOT eligible"


class ReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        max_length=2000,
        help_text="Shown to the customer in their chat: write it for them.",
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(required=False, max_length=2000)


# --- the approval queue -------------------------------------------------------------------------


class QueueStatusFilter(admin.SimpleListFilter):
    """Opens on the queue (pending requests); other statuses and 'All' on request."""

    title = "status"
    parameter_name = "status"
    default = ApprovalStatus.PENDING

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*ApprovalStatus.choices, ("all", "All")]

    def choices(self, changelist: Any) -> Any:
        current = self.value() or self.default
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value() or self.default
        if value == "all":
            return queryset
        if value not in ApprovalStatus.values:
            return queryset.none()
        return queryset.filter(status=value)


class AmountFilter(admin.SimpleListFilter):
    title = "amount"
    parameter_name = "amount"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        threshold = settings.REFUND_SECOND_APPROVER_THRESHOLD
        return [
            ("lt50", "Under 50"),
            ("50-200", "50 to 200"),
            ("200-threshold", f"200 to {threshold}"),
            ("over-threshold", f"Over {threshold} (two approvers)"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        threshold = Decimal(settings.REFUND_SECOND_APPROVER_THRESHOLD)
        ranges = {
            "lt50": {"amount__lt": Decimal("50")},
            "50-200": {"amount__gte": Decimal("50"), "amount__lt": Decimal("200")},
            "200-threshold": {"amount__gte": Decimal("200"), "amount__lte": threshold},
            "over-threshold": {"amount__gt": threshold},
        }
        if self.value() in ranges:
            return queryset.filter(**ranges[self.value()])
        return queryset


class AgeFilter(admin.SimpleListFilter):
    title = "waiting"
    parameter_name = "age"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        hours = settings.REFUND_APPROVAL_ESCALATE_AFTER_HOURS
        return [
            ("lt1h", "Under 1 hour"),
            ("lt-escalation", f"Under {hours} hours"),
            ("overdue", f"Over {hours} hours (escalated)"),
            ("gt3d", "Over 3 days"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        cutoff = now - timedelta(hours=settings.REFUND_APPROVAL_ESCALATE_AFTER_HOURS)
        ranges = {
            "lt1h": {"created_at__gte": now - timedelta(hours=1)},
            "lt-escalation": {"created_at__gte": cutoff},
            "overdue": {"created_at__lt": cutoff},
            "gt3d": {"created_at__lt": now - timedelta(days=3)},
        }
        if self.value() in ranges:
            return queryset.filter(**ranges[self.value()])
        return queryset


class EscalatedFilter(admin.SimpleListFilter):
    title = "escalated to the leads"
    parameter_name = "escalated"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(escalated_at__isnull=self.value() == "no")
        return queryset


class ApprovalDecisionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ApprovalDecision
    extra = 0
    can_delete = False
    fields = ("created_at", "approver", "decision", "reason")
    readonly_fields = fields


@admin.register(RefundApproval)
class RefundApprovalAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Rows change only through the support services (admin actions call them).
    # Fits 1400 px beside the filters (tests/support/test_browser.py measures it): the age says "escalated",
    # the customer's email and the full policy text are in tooltips and on the request's page.
    list_display = (
        "reference",
        "waiting",
        "order_link",
        "customer_name",
        "amount_display",
        "policy_verdict",
        "approvals_progress",
        "status",
        "transcript_link",
    )
    list_display_links = ("reference",)
    list_filter = (QueueStatusFilter, AmountFilter, AgeFilter, EscalatedFilter)
    list_select_related = ("order", "customer", "conversation")
    ordering = ("created_at", "id")  # the queue: oldest first
    search_fields = ("order__number", "customer__email", "reason")
    actions = ("approve_selected", "reject_selected")
    inlines = (ApprovalDecisionInline,)
    change_form_template = "admin/support/refundapproval/change_form.html"
    fields = (
        "status",
        "order_link",
        "customer",
        "amount_display",
        "reason",
        "items_display",
        "policy_verdict",
        "policy_details",
        "approvals_progress",
        "transcript_link",
        "customer_photos",
        "requested_by_label",
        "created_at",
        "decided_at",
        "escalated_at",
        "return_display",
        "refund",
        "executed_at",
        "execution_attempts",
        "last_attempt_at",
        "last_error",
        "failure_message",
        "follow_up_ticket",
        "idempotency_key",
    )
    readonly_fields = fields

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.has_perm(DECIDE_PERMISSION)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("decisions")

    # --- columns ---
    @admin.display(description="request", ordering="id")
    def reference(self, obj: RefundApproval) -> str:
        return obj.reference

    @admin.display(description="waiting", ordering="created_at")
    def waiting(self, obj: RefundApproval) -> str:
        since = timesince(obj.created_at).split(",")[0]
        if obj.escalated_at is not None:
            return format_html('{} <span class="escalated-mark" title="the leads were told">escalated</span>', since)
        return since

    @admin.display(description="customer", ordering="customer__last_name")
    def customer_name(self, obj: RefundApproval) -> str:
        return format_html('<span title="{}">{}</span>', obj.customer.email, obj.customer.full_name)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # The queue needs the page's width for its columns: the app list is one click away (breadcrumbs).
        return super().changelist_view(request, {**(extra_context or {}), "is_nav_sidebar_enabled": False})

    @admin.display(description="order", ordering="order__number")
    def order_link(self, obj: RefundApproval) -> str:
        return _admin_link("admin:commerce_order_change", obj.order_id, obj.order.number)

    @admin.display(description="return")
    def return_display(self, obj: RefundApproval) -> str:
        returned = obj.return_request
        if returned is None:
            return "– (no return: refunded on approval)"
        link = _admin_link("admin:commerce_returnrequest_change", returned.pk, returned.label_reference)
        return format_html("{} ({}; refunded once received)", link, returned.get_status_display().lower())

    @admin.display(description="amount", ordering="amount")
    def amount_display(self, obj: RefundApproval) -> str:
        return f"{obj.amount} {obj.currency}"

    @admin.display(description="policy check")
    def policy_verdict(self, obj: RefundApproval) -> str:
        full = policy_summary(obj.policy_check or {})
        short = full if len(full) <= 90 else full[:89] + "…"
        return format_html('<span title="{}">{}</span>', full, short) if short != full else full

    @admin.display(description="policy check details")
    def policy_details(self, obj: RefundApproval) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.policy_check, indent=2, sort_keys=True))

    @admin.display(description="items")
    def items_display(self, obj: RefundApproval) -> str:
        return ", ".join(f"{i.get('quantity')} x {i.get('sku')}" for i in obj.items) or "–"

    @admin.display(description="approvals")
    def approvals_progress(self, obj: RefundApproval) -> str:
        approvals = sum(1 for d in obj.decisions.all() if d.decision == "approve")
        return f"{approvals}/{obj.required_approvals}"

    @admin.display(description="transcript")
    def transcript_link(self, obj: RefundApproval) -> str:
        if obj.conversation is None:
            return "–"
        return format_html('<a href="{}">transcript</a>', transcript_url(obj.conversation))

    @admin.display(description="photos from the customer")
    def customer_photos(self, obj: RefundApproval) -> str:
        return attachments_html(obj.conversation)

    # --- actions ---
    @admin.action(description="Approve selected refund requests", permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        done, refused = 0, []
        for approval in queryset.order_by("created_at", "id"):
            try:
                refund_approval_decide(approval=approval, approver=request.user, approve=True)
                done += 1
            except ApplicationError as exc:
                refused.append(f"{approval.reference}: {exc.message}")
        _report(request, done, "approved", refused)

    @admin.action(description="Reject selected refund requests…", permissions=["decide"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            done, refused = 0, []
            for approval in queryset.order_by("created_at", "id"):
                try:
                    refund_approval_decide(
                        approval=approval, approver=request.user, approve=False, reason=form.cleaned_data["reason"]
                    )
                    done += 1
                except ApplicationError as exc:
                    refused.append(f"{approval.reference}: {exc.message}")
            _report(request, done, "rejected", refused)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Reject refund requests",
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action": "reject_selected",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "submit_label": "Reject",
        }
        return TemplateResponse(request, "admin/support/action_with_reason.html", context)

    # --- the detail page's decision form ---
    def get_urls(self) -> list:
        return [
            path(
                "<path:object_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="support_refundapproval_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_decide_permission(request):
            raise DjangoPermissionDenied
        approval = get_object_or_404(RefundApproval, pk=object_id)
        change_url = reverse("admin:support_refundapproval_change", args=[approval.pk])
        form = DecisionForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Choose approve or reject.")
            return HttpResponseRedirect(change_url)
        approve = form.cleaned_data["decision"] == "approve"
        try:
            approval = refund_approval_decide(
                approval=approval, approver=request.user, approve=approve, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(change_url)
        messages.success(request, f"Refund request {approval.reference}: {approval.get_status_display()}.")
        return HttpResponseRedirect(reverse("admin:support_refundapproval_changelist"))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        approval = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if approval is not None:
            extra["can_decide"] = self.has_decide_permission(request) and approval.status == ApprovalStatus.PENDING
            extra["decide_url"] = reverse("admin:support_refundapproval_decide", args=[approval.pk])
            extra["audit_events"] = SupportAuditEvent.objects.filter(
                subject_type="refund_approval", subject_id=approval.pk
            ).select_related("actor")
        return super().change_view(request, object_id, form_url, extra_context=extra)


# --- tickets ------------------------------------------------------------------------------------


def _apply(request: HttpRequest, queryset: QuerySet, call: Any, verb: str) -> None:
    done, refused = 0, []
    for obj in queryset:
        try:
            call(obj)
            done += 1
        except ApplicationError as exc:
            refused.append(f"{obj}: {exc.message}")
    if done:
        messages.success(request, f"{done} {queryset.model._meta.verbose_name_plural} {verb}.")
    for line in refused:
        messages.error(request, line)


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
        if obj.conversation is None:
            return "–"
        return format_html('<a href="{}">transcript</a>', transcript_url(obj.conversation))

    @admin.display(description="photos from the customer")
    def customer_photos(self, obj: Ticket) -> str:
        return attachments_html(obj.conversation)

    @admin.action(description="Assign to me", permissions=["work"])
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet) -> None:
        _apply(
            request, queryset, lambda t: ticket_assign(ticket=t, assignee=request.user, actor=request.user), "assigned"
        )

    def _status_action(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        _apply(request, queryset, lambda t: ticket_set_status(ticket=t, status=status, actor=request.user), status)

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


# --- escalations --------------------------------------------------------------------------------


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
        return format_html('<a href="{}">transcript</a>', transcript_url(obj.conversation))

    @admin.action(description="Take over (pause the bot, assign to me)", permissions=["work"])
    def take_over(self, request: HttpRequest, queryset: QuerySet) -> None:
        _apply(request, queryset, lambda e: escalation_take_over(escalation=e, staff_user=request.user), "taken over")

    @admin.action(description="Hand back to the bot", permissions=["work"])
    def hand_back(self, request: HttpRequest, queryset: QuerySet) -> None:
        _apply(request, queryset, lambda e: escalation_hand_back(escalation=e, staff_user=request.user), "handed back")

    @admin.action(description="Resolve and close the conversation…", permissions=["work"])
    def resolve(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = ResolutionForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            code = form.cleaned_data["reason"]
            _apply(
                request,
                queryset.filter(status__in=[EscalationStatus.OPEN, EscalationStatus.TAKEN]),
                lambda e: escalation_resolve(escalation=e, staff_user=request.user, resolution_code=code),
                "resolved",
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Resolve escalations",
            "opts": self.model._meta,
            "queryset": queryset,
            "form": form,
            "action": "resolve",
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "submit_label": "Resolve",
        }
        return TemplateResponse(request, "admin/support/action_with_reason.html", context)


class ResolutionForm(forms.Form):
    reason = forms.SlugField(
        label="Resolution code", max_length=40, help_text="e.g. resolved, refunded, duplicate, no_response"
    )


# --- audit --------------------------------------------------------------------------------------


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


from apps.support import admin_console  # noqa: E402, F401  (registers the console's models)
