"""The refund approval queue's filters: status (opening on the queue), amount, age and escalation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apps.support.models import ApprovalStatus


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
