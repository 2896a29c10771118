"""Outcome dashboard `/dashboard/` for operators and leads: figures, charts, by day and route, CSV."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from apps.conversations.models import Route
from apps.support.dashboard import DashboardFilters, Outcomes, charts, outcomes

REVIEW = "conversations.review_conversation"
DEFAULT_DAYS = 30
MAX_DAYS = 366


def operators_only(view):  # type: ignore[no-untyped-def]
    return login_required(permission_required(REVIEW, raise_exception=True)(view), login_url="/admin/login/")


def _date(value: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else default
    except ValueError:
        return default


def _filters(request: HttpRequest) -> DashboardFilters:
    today = timezone.localdate()
    date_to = _date(request.GET.get("to", ""), today)
    date_from = _date(request.GET.get("from", ""), date_to - dt.timedelta(days=DEFAULT_DAYS - 1))
    if date_from > date_to:
        date_from, date_to = date_to, date_from
    date_from = max(date_from, date_to - dt.timedelta(days=MAX_DAYS - 1))
    route = request.GET.get("route", "")
    return DashboardFilters(date_from=date_from, date_to=date_to, route=route if route in Route.values else "")


def _pct(v: float) -> str:
    return f"{v * 100:.0f}%"


def _ms(v: float) -> str:
    return f"{v / 1000:.1f} s" if v >= 1000 else f"{v:.0f} ms"


def _days(result: Outcomes) -> list[dt.date]:
    f = result.filters
    return [f.date_from + dt.timedelta(days=i) for i in range((f.date_to - f.date_from).days + 1)]


def _charts(result: Outcomes) -> list[dict[str, Any]]:
    by_day = dict(result.by_day)
    days = _days(result)
    labels = [d.strftime("%b %-d") for d in days]
    rows = [by_day.get(d) for d in days]

    def series(attr: str) -> list[float | None]:
        return [getattr(r, attr) if r is not None else None for r in rows]

    return [
        charts.bar_chart(
            [(lbl, r.conversations if r else 0) for lbl, r in zip(labels, rows, strict=True)],
            title="Conversations per day",
            integer=True,
        ),
        charts.line_chart(
            labels,
            [("Resolution rate", series("resolution_rate")), ("Escalation rate", series("escalation_rate"))],
            fmt=_pct,
            title="Resolution and escalation rate",
            top=1.0,
        ),
        charts.line_chart(
            labels,
            [("First response p50", series("first_response_p50_ms")), ("Full reply p95", series("full_reply_p95_ms"))],
            fmt=_ms,
            title="Latency",
        ),
        charts.bar_chart(
            [(lbl, float(r.cost) if r else 0.0) for lbl, r in zip(labels, rows, strict=True)],
            fmt=lambda v: f"{v:.4g}",
            title="Model cost per day",
        ),
        charts.hbar_chart([(route, r.conversations) for route, r in result.by_route], title="Conversations by route"),
        charts.hbar_chart(result.escalation_reasons, title="Escalation reasons"),
    ]


@require_GET
@operators_only
def dashboard(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    result = outcomes(filters=filters)
    query = request.GET.urlencode()
    return render(
        request,
        "support/dashboard.html",
        {
            "result": result,
            "total": result.total,
            "filters": filters,
            "routes": Route.choices,
            "charts": _charts(result),
            "query": query,
        },
    )


CSV_COLUMNS = (
    ("conversations", "conversations"),
    ("bot_involvement", "bot_involvement"),
    ("staff_involvement", "staff_involvement"),
    ("resolution_rate", "resolution_rate"),
    ("resolved_confirmed", "confirmed"),
    ("resolved_left", "left_satisfied"),
    ("escalated", "escalated"),
    ("escalation_rate", "escalation_rate"),
    ("csat_avg", "csat_avg"),
    ("csat_count", "csat_count"),
    ("thumbs_up", "thumbs_up"),
    ("thumbs_down", "thumbs_down"),
    ("refunds_requested", "refunds_requested"),
    ("refunds_approved", "refunds_approved"),
    ("cost", "cost"),
    ("cost_per_conversation", "cost_per_conversation"),
    ("cost_per_resolution", "cost_per_resolution"),
    ("first_response_p50_ms", "first_response_p50_ms"),
    ("first_response_p95_ms", "first_response_p95_ms"),
    ("full_reply_p50_ms", "full_reply_p50_ms"),
    ("full_reply_p95_ms", "full_reply_p95_ms"),
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


@require_GET
@operators_only
def dashboard_csv(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    result = outcomes(filters=filters)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"outcomes-{filters.date_from}-{filters.date_to}{'-' + filters.route if filters.route else ''}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(["group", "key", *[c for c, _ in CSV_COLUMNS]])
    groups = [
        ("total", "", result.total),
        *[("day", d.isoformat(), r) for d, r in result.by_day],
        *[("route", route, r) for route, r in result.by_route],
    ]
    for group, key, row in groups:
        writer.writerow([group, key, *[_cell(getattr(row, attr)) for _, attr in CSV_COLUMNS]])
    return response
