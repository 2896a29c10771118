"""The refund approval queue: the requests, the policy verdict each was raised with, and the approvers' actions."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.timesince import timesince

from apps.conversations.attachments import attachments_html
from apps.core.admin import ReadOnlyAdminMixin
from apps.core.errors import ApplicationError
from apps.support.admin.approval_filters import AgeFilter, AmountFilter, EscalatedFilter, QueueStatusFilter
from apps.support.admin.common import ReasonForm, admin_link, apply_each, ask_for_reason, transcript_link
from apps.support.models import ApprovalDecision, ApprovalStatus, RefundApproval, SupportAuditEvent
from apps.support.services import refund_approval_decide
from apps.support.services.approvals.decisions import DECIDE_PERMISSION


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


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(required=False, max_length=2000)


def _decide_each(request: HttpRequest, queryset: QuerySet, *, approve: bool, reason: str = "") -> None:
    """One decision per selected request, oldest first, each through `refund_approval_decide`."""
    apply_each(
        request,
        queryset.order_by("created_at", "id"),
        lambda a: refund_approval_decide(approval=a, approver=request.user, approve=approve, reason=reason),
        done="{count} refund request(s) " + ("approved." if approve else "rejected."),
        label=lambda a: a.reference,
    )


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
        return admin_link("admin:commerce_order_change", obj.order_id, obj.order.number)

    @admin.display(description="return")
    def return_display(self, obj: RefundApproval) -> str:
        returned = obj.return_request
        if returned is None:
            return "– (no return: refunded on approval)"
        link = admin_link("admin:commerce_returnrequest_change", returned.pk, returned.label_reference)
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
        return transcript_link(obj.conversation)

    @admin.display(description="photos from the customer")
    def customer_photos(self, obj: RefundApproval) -> str:
        return attachments_html(obj.conversation)

    # --- actions ---
    @admin.action(description="Approve selected refund requests", permissions=["decide"])
    def approve_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        _decide_each(request, queryset, approve=True)

    @admin.action(description="Reject selected refund requests…", permissions=["decide"])
    def reject_selected(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            _decide_each(request, queryset, approve=False, reason=form.cleaned_data["reason"])
            return None
        return ask_for_reason(
            self,
            request,
            queryset,
            form=form,
            action="reject_selected",
            title="Reject refund requests",
            submit_label="Reject",
        )

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
