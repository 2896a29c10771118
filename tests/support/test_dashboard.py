"""The outcome dashboard: exact figures from seeded conversations, filters, the page's charts, CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from apps.accounts.roles import OPERATOR, SUPPORT_AGENT
from apps.conversations.models import Conversation, Feedback, Message
from apps.observability.models import Trace
from apps.support.dashboard import DashboardFilters, outcomes
from apps.support.models import Escalation, RefundApproval
from tests.support.conftest import make_customer, make_order, make_staff

pytestmark = pytest.mark.django_db

D1 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
D2 = dt.datetime(2026, 3, 3, 10, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 5, 12, 0, tzinfo=dt.UTC)


def _conversation(day: dt.datetime, route: str, lines: list[tuple[str, int]], **fields) -> Conversation:
    """A conversation started at `day`; each line is (role, seconds after the start); assistant lines
    answer the customer line before them."""
    conversation = Conversation.objects.create(current_route=route, **fields)
    last_customer = None
    for seq, (role, seconds) in enumerate(lines, start=1):
        message = Message.objects.create(
            conversation=conversation,
            seq=seq,
            role=role,
            text=f"{role} {seq}",
            in_reply_to=last_customer if role == "assistant" else None,
        )
        Message.objects.filter(pk=message.pk).update(created_at=day + dt.timedelta(seconds=seconds))
        if role == "customer":
            last_customer = message
    last = day + dt.timedelta(seconds=lines[-1][1])
    Conversation.objects.filter(pk=conversation.pk).update(created_at=day, last_message_at=last)
    conversation.refresh_from_db()
    return conversation


def _trace(conversation: Conversation, cost: str) -> None:
    Trace.objects.create(
        conversation=conversation,
        route=conversation.current_route,
        cost=Decimal(cost),
        latency_ms=100.0,
        started_at=conversation.created_at,
    )


@pytest.fixture
def seeded() -> dict[str, Conversation]:
    a = _conversation(D1, "order", [("customer", 0), ("assistant", 2)])
    Feedback.objects.create(conversation=a, message=a.messages.get(role="assistant"), rating="up")
    _trace(a, "0.002")
    b = _conversation(D1, "returns", [("customer", 0), ("assistant", 4)])
    _trace(b, "0.001")
    c = _conversation(
        D1, "returns", [("customer", 0), ("staff", 60)], status="closed", resolution_code="no_response", csat_score=2
    )
    Escalation.objects.create(conversation=c, reason_code="customer_request", status="resolved")
    d = _conversation(D2, "order", [("customer", 0), ("assistant", 1), ("customer", 30)])
    customer = make_customer()
    order = make_order(customer)
    approval = RefundApproval.objects.create(
        order=order,
        customer=customer,
        amount=Decimal("10.00"),
        currency="USD",
        reason="broken",
        conversation=d,
        requested_by_label="agent",
        status="approved",
    )
    RefundApproval.objects.filter(pk=approval.pk).update(created_at=D2)
    RefundApproval.objects.create(
        order=order,
        customer=customer,
        amount=Decimal("5.00"),
        currency="USD",
        reason="late",
        requested_by_label="agent",
    )  # today: outside the range
    return {"a": a, "b": b, "c": c, "d": d}


RANGE = DashboardFilters(date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 4))


def test_totals_follow_the_documented_definitions(seeded):
    # when
    total = outcomes(filters=RANGE, now=NOW).total
    # then
    assert (total.conversations, total.bot_involved, total.staff_involved, total.escalated) == (4, 3, 1, 1)
    assert (total.confirmed, total.left_satisfied, total.resolution_rate) == (1, 1, 0.5)
    assert (total.csat_count, total.csat_avg, total.thumbs_up, total.thumbs_down) == (1, 2.0, 1, 0)
    assert (total.refunds_requested, total.refunds_approved) == (1, 1)
    assert total.cost == Decimal("0.003")
    assert (total.cost_per_conversation, total.cost_per_resolution) == (Decimal("0.00075"), Decimal("0.0015"))
    # first responses 1, 2, 4 and 60 s; full replies (the bot's) 1, 2 and 4 s
    assert (total.first_response_p50_ms, total.first_response_p95_ms) == (3000.0, pytest.approx(51600.0))
    assert (total.full_reply_p50_ms, total.full_reply_p95_ms) == (2000.0, pytest.approx(3800.0))


def test_by_day_by_route_and_reasons(seeded):
    result = outcomes(filters=RANGE, now=NOW)
    assert [(day, row.conversations) for day, row in result.by_day] == [
        (dt.date(2026, 3, 2), 3),
        (dt.date(2026, 3, 3), 1),
    ]
    assert {route: (row.conversations, row.resolved, row.refunds_requested) for route, row in result.by_route} == {
        "order": (2, 1, 1),
        "returns": (2, 1, 0),
    }
    assert result.escalation_reasons == [("customer_request", 1)]


def test_a_route_filter_and_a_recent_reply_narrow_the_figures(seeded):
    # the customer of b wrote 4 s after the bot: only 10 minutes later it is too early to call it resolved
    soon = D1 + dt.timedelta(minutes=10)
    returns = outcomes(filters=DashboardFilters(RANGE.date_from, RANGE.date_to, route="returns"), now=soon).total
    assert (returns.conversations, returns.left_satisfied, returns.escalated, returns.refunds_requested) == (2, 0, 1, 0)
    empty = outcomes(filters=DashboardFilters(dt.date(2025, 1, 1), dt.date(2025, 1, 31)), now=NOW)
    assert (empty.total.conversations, empty.total.resolution_rate, empty.by_day) == (0, None, [])


def test_the_page_draws_the_charts_and_only_operators_and_leads_open_it(seeded):
    operator = Client()
    operator.force_login(make_staff(OPERATOR))
    agent = Client()
    agent.force_login(make_staff(SUPPORT_AGENT))
    page = operator.get("/dashboard/", {"from": "2026-03-01", "to": "2026-03-04"}).content.decode()
    assert agent.get("/dashboard/").status_code == 403
    assert '<span class="kpi-value">50%</span>' in page  # resolution rate
    assert page.count('<figure class="chart') == 6
    assert "<title>Mar 2: 3</title>" in page  # the bar of the first day, with its value
    assert "<script" not in page.split("</head>")[1]


def test_csv_export_has_the_total_each_day_and_each_route(seeded):
    client = Client()
    client.force_login(make_staff(OPERATOR))
    response = client.get("/dashboard/export.csv", {"from": "2026-03-01", "to": "2026-03-04"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert response["Content-Disposition"] == 'attachment; filename="outcomes-2026-03-01-2026-03-04.csv"'
    assert [(r["group"], r["key"], r["conversations"]) for r in rows] == [
        ("total", "", "4"),
        ("day", "2026-03-02", "3"),
        ("day", "2026-03-03", "1"),
        ("route", "order", "2"),
        ("route", "returns", "2"),
    ]
    assert rows[0]["resolution_rate"] == "0.5000"
    assert rows[0]["cost_per_resolution"] == "0.0015"


def test_after_a_refresh_the_view_and_the_live_part_add_up_to_the_same_figures(seeded):
    # given the figures computed live
    from apps.support.dashboard import outcomes_refresh

    before = outcomes(filters=RANGE, now=NOW)
    # when the beat job refreshes the facts and a new conversation starts afterwards
    outcomes_refresh()
    late = _conversation(D2 + dt.timedelta(hours=2), "faq", [("customer", 0), ("assistant", 3)])
    Conversation.objects.filter(pk=late.pk).update(created_at=timezone.now())
    today = timezone.localdate()
    after = outcomes(filters=DashboardFilters(RANGE.date_from, today), now=timezone.now() + dt.timedelta(days=1))
    # then the old conversations come from the view with the same figures and the new one is counted live
    assert outcomes(filters=RANGE, now=NOW).total == before.total
    assert after.total.conversations == before.total.conversations + 1
    assert dict(after.by_route)["faq"].conversations == 1


def test_the_daily_rollup_gives_exactly_the_figures_computed_live(seeded):
    # given the figures computed live: all routes, one route, and early (b's customer spoke 10 minutes ago)
    from apps.support.dashboard import outcomes_refresh
    from apps.support.models import OutcomeDay

    cases = [
        (RANGE, NOW),
        (DashboardFilters(RANGE.date_from, RANGE.date_to, route="returns"), NOW),
        (RANGE, D1 + dt.timedelta(minutes=10)),
    ]
    live = [outcomes(filters=f, now=now) for f, now in cases]
    # when the beat job builds the rollup (one row per day and route)
    rows = outcomes_refresh()
    # then every figure read from it is the same: totals, each day, each route, percentiles included
    assert rows == OutcomeDay.objects.count() == 3
    for (f, now), before in zip(cases, live, strict=True):
        after = outcomes(filters=f, now=now)
        assert (after.total, after.by_day, after.by_route) == (before.total, before.by_day, before.by_route)
    assert [r.total.left_satisfied for r in live] == [1, 1, 0]


def test_a_rollup_built_under_other_settings_is_not_read(seeded, settings):
    # given a rollup built while "no_response" did not count as resolved
    from apps.support.dashboard import outcomes_refresh

    outcomes_refresh()
    # when the setting changes (c was closed as no_response)
    settings.SUPPORT_DASHBOARD_RESOLVED_CODES = ["no_response"]
    total = outcomes(filters=RANGE, now=NOW).total
    # then the figures follow the new definition at once (computed live until the next refresh)
    assert (total.conversations, total.confirmed) == (4, 2)
