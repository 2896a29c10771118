"""Outcome metrics over a date range (and optionally one route), totals plus by day and by route.

Definitions (docs/support-desk.md, "Outcome dashboard"):
- involvement: share of conversations the bot answered in, and share a person replied in;
- escalated: an escalation, a takeover, or waiting for / with a person;
- resolved, confirmed: closed with a resolved code (`SUPPORT_DASHBOARD_RESOLVED_CODES`), a thumbs up, or CSAT >= 4;
- resolved, left: not escalated, not confirmed, the bot had the last word and the customer has been quiet
  for `SUPPORT_DASHBOARD_IDLE_MINUTES` (they left without asking for more);
- first response: the conversation's first customer message to its first bot or staff reply;
- full reply: each customer message to the bot's stored reply;
- cost: the turns' traced model cost.

Each figure is one SQL statement with GROUPING SETS (total, day, route), so a year is three scans of
the conversations in range joined through foreign-key indexes, not one query per day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from apps.conversations.models import Conversation, ConversationEvent, Feedback, Message
from apps.observability.models import Trace
from apps.support.models import ApprovalStatus, Escalation, RefundApproval

APPROVED_STATUSES = (ApprovalStatus.APPROVED, ApprovalStatus.AWAITING_RETURN, ApprovalStatus.EXECUTED)


@dataclass(frozen=True)
class DashboardFilters:
    date_from: dt.date
    date_to: dt.date  # inclusive
    route: str = ""

    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        tz = ZoneInfo(settings.TIME_ZONE)
        start = dt.datetime.combine(self.date_from, dt.time.min, tzinfo=tz)
        end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        return start, end


@dataclass
class Row:
    """The figures of one group (the whole range, one day or one route)."""

    conversations: int = 0
    bot_involved: int = 0
    staff_involved: int = 0
    escalated: int = 0
    confirmed: int = 0
    left_satisfied: int = 0
    csat_count: int = 0
    csat_avg: float | None = None
    thumbs_up: int = 0
    thumbs_down: int = 0
    cost: Decimal = Decimal("0")
    first_response_p50_ms: float | None = None
    first_response_p95_ms: float | None = None
    full_reply_p50_ms: float | None = None
    full_reply_p95_ms: float | None = None
    refunds_requested: int = 0
    refunds_approved: int = 0

    def _rate(self, n: int) -> float | None:
        return n / self.conversations if self.conversations else None

    @property
    def resolved(self) -> int:
        return self.confirmed + self.left_satisfied

    @property
    def resolution_rate(self) -> float | None:
        return self._rate(self.resolved)

    @property
    def confirmed_rate(self) -> float | None:
        return self._rate(self.confirmed)

    @property
    def left_rate(self) -> float | None:
        return self._rate(self.left_satisfied)

    @property
    def escalation_rate(self) -> float | None:
        return self._rate(self.escalated)

    @property
    def bot_involvement(self) -> float | None:
        return self._rate(self.bot_involved)

    @property
    def staff_involvement(self) -> float | None:
        return self._rate(self.staff_involved)

    @property
    def cost_per_conversation(self) -> Decimal | None:
        return self.cost / self.conversations if self.conversations else None

    @property
    def cost_per_resolution(self) -> Decimal | None:
        return self.cost / self.resolved if self.resolved else None


@dataclass
class Outcomes:
    filters: DashboardFilters
    total: Row
    by_day: list[tuple[dt.date, Row]]
    by_route: list[tuple[str, Row]]
    escalation_reasons: list[tuple[str, int]] = field(default_factory=list)
    query_ms: dict[str, float] = field(default_factory=dict)


def _tables() -> dict[str, str]:
    return {
        "conversation": Conversation._meta.db_table,
        "message": Message._meta.db_table,
        "feedback": Feedback._meta.db_table,
        "event": ConversationEvent._meta.db_table,
        "escalation": Escalation._meta.db_table,
        "trace": Trace._meta.db_table,
        "approval": RefundApproval._meta.db_table,
    }


MATVIEW = "support_conversation_outcome"

# One row of facts per conversation. The materialized view holds them for every conversation as of its
# last refresh (beat job); conversations started since are computed live with the same statement.
_FACTS = """
WITH scope AS (
    SELECT c.id, c.created_at, c.status, c.resolution_code, c.csat_score, c.last_message_at,
           COALESCE(NULLIF(c.current_route, ''), 'none') AS route
    FROM {conversation} c WHERE {where}
),
msg AS (
    SELECT m.conversation_id AS id,
           bool_or(m.role = 'assistant') AS bot,
           bool_or(m.role = 'staff') AS staff,
           min(m.created_at) FILTER (WHERE m.role = 'customer') AS first_customer,
           min(m.created_at) FILTER (WHERE m.role IN ('assistant', 'staff')) AS first_reply,
           max(m.seq) FILTER (WHERE m.role <> 'system') AS last_seq,
           max(m.seq) FILTER (WHERE m.role = 'assistant') AS last_bot_seq
    FROM {message} m JOIN scope s ON s.id = m.conversation_id
    GROUP BY m.conversation_id
),
replies AS (
    SELECT r.conversation_id AS id,
           array_agg((EXTRACT(EPOCH FROM (r.created_at - q.created_at)) * 1000)::float8) AS full_reply_ms
    FROM {message} r JOIN scope s ON s.id = r.conversation_id JOIN {message} q ON q.id = r.in_reply_to_id
    WHERE r.role = 'assistant'
    GROUP BY r.conversation_id
),
fb AS (
    SELECT f.conversation_id AS id, count(*) FILTER (WHERE f.rating = 'up') AS up,
           count(*) FILTER (WHERE f.rating = 'down') AS down
    FROM {feedback} f JOIN scope s ON s.id = f.conversation_id
    GROUP BY f.conversation_id
),
cost AS (
    SELECT t.conversation_id AS id, sum(t.cost) AS cost
    FROM {trace} t JOIN scope s ON s.id = t.conversation_id
    GROUP BY t.conversation_id
),
esc AS (
    SELECT e.conversation_id AS id FROM {escalation} e JOIN scope s ON s.id = e.conversation_id
    UNION
    SELECT ev.conversation_id FROM {event} ev JOIN scope s ON s.id = ev.conversation_id
    WHERE ev.action = 'taken_over'
)
SELECT s.id, s.created_at, s.route, s.resolution_code, s.csat_score, s.last_message_at,
       COALESCE(msg.bot, false) AS bot, COALESCE(msg.staff, false) AS staff,
       (esc.id IS NOT NULL OR s.status IN ('waiting_human', 'human')) AS escalated,
       COALESCE(msg.last_bot_seq = msg.last_seq, false) AS bot_last,
       COALESCE(fb.up, 0)::int AS up, COALESCE(fb.down, 0)::int AS down, COALESCE(cost.cost, 0) AS cost,
       (EXTRACT(EPOCH FROM (msg.first_reply - msg.first_customer)) * 1000)::float8 AS first_response_ms,
       replies.full_reply_ms
FROM scope s
LEFT JOIN msg ON msg.id = s.id LEFT JOIN replies ON replies.id = s.id LEFT JOIN fb ON fb.id = s.id
LEFT JOIN cost ON cost.id = s.id LEFT JOIN esc ON esc.id = s.id
"""

_COLUMNS = (
    "id, created_at, route, resolution_code, csat_score, last_message_at, bot, staff, escalated, bot_last, "
    "up, down, cost, first_response_ms, full_reply_ms"
)

# The range's facts: from the view up to its refresh, live after it (all live before the first refresh).
_RANGE = """
fresh AS (SELECT COALESCE((SELECT max(refreshed_at) FROM {matview}), '-infinity'::timestamptz) AS at),
facts AS (
    SELECT {columns} FROM {matview} f
    WHERE f.created_at >= %(start)s AND f.created_at < LEAST(%(end)s, (SELECT at FROM fresh)) {route_f}
    UNION ALL
    SELECT {columns} FROM ({live}) live
),
flags AS (
    SELECT (created_at AT TIME ZONE %(tz)s)::date AS day, route, csat_score, bot, staff, escalated, up, down, cost,
           (resolution_code = ANY(%(resolved_codes)s) OR up > 0 OR COALESCE(csat_score, 0) >= 4) AS confirmed,
           bot_last, last_message_at, first_response_ms, full_reply_ms
    FROM facts
)"""

_GROUPS = "GROUP BY GROUPING SETS ((), (day), (route))"
_GROUP_COLUMNS = "GROUPING(day) AS g_day, GROUPING(route) AS g_route, day, route"

_CONVERSATIONS = """
WITH {range}
SELECT {group_columns},
       count(*), count(*) FILTER (WHERE bot), count(*) FILTER (WHERE staff), count(*) FILTER (WHERE escalated),
       count(*) FILTER (WHERE confirmed),
       count(*) FILTER (WHERE NOT confirmed AND NOT escalated AND bot_last AND last_message_at < %(idle_before)s),
       count(csat_score), avg(csat_score), sum(up), sum(down), sum(cost),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY first_response_ms) FILTER (WHERE first_response_ms >= 0),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY first_response_ms) FILTER (WHERE first_response_ms >= 0)
FROM flags {groups}
"""

_FULL_REPLY = """
WITH {range}
SELECT {group_columns},
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms), percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)
FROM flags CROSS JOIN LATERAL unnest(full_reply_ms) AS ms
{groups}
"""

# Refund requests raised in range (by their own creation day), routed by the conversation they came from.
_REFUNDS = """
SELECT GROUPING(day) AS g_day, GROUPING(route) AS g_route, day, route,
       count(*), count(*) FILTER (WHERE a.status = ANY(%(approved)s))
FROM (
    SELECT a.status, (a.created_at AT TIME ZONE %(tz)s)::date AS day,
           COALESCE(NULLIF(c.current_route, ''), 'none') AS route
    FROM {approval} a LEFT JOIN {conversation} c ON c.id = a.conversation_id
    WHERE a.created_at >= %(start)s AND a.created_at < %(end)s {route_c}
) a
{groups}
"""

_REASONS = """
SELECT e.reason_code, count(DISTINCT e.conversation_id)
FROM {escalation} e JOIN {conversation} c ON c.id = e.conversation_id
WHERE c.created_at >= %(start)s AND c.created_at < %(end)s {route_c}
GROUP BY e.reason_code ORDER BY 2 DESC, 1
"""


def facts_sql(where: str) -> str:
    """The per-conversation facts statement for the conversations `where` selects (alias `c`)."""
    return _FACTS.format(where=where, **_tables())


def _sql(template: str, *, route: str) -> str:
    names = _tables()
    route_c = "AND COALESCE(NULLIF(c.current_route, ''), 'none') = %(route)s" if route else ""
    # Only constant SQL is put together here; every value is a bound parameter.
    live = facts_sql(
        f"c.created_at >= GREATEST(%(start)s, (SELECT at FROM fresh)) AND c.created_at < %(end)s {route_c}"  # noqa: S608
    )
    range_ = _RANGE.format(
        matview=MATVIEW, columns=_COLUMNS, live=live, route_f="AND f.route = %(route)s" if route else ""
    )
    return template.format(range=range_.strip(), groups=_GROUPS, group_columns=_GROUP_COLUMNS, route_c=route_c, **names)


def outcomes_refresh() -> None:
    """Recompute the facts of every conversation (the beat job; concurrent: readers are never blocked)."""
    with connection.cursor() as cursor:
        cursor.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {MATVIEW}")


def _run(sql: str, params: dict[str, Any], timings: dict[str, float], name: str) -> list[tuple[Any, ...]]:
    import time

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        # The year's hash aggregates fit in memory instead of spilling to disk (this statement only).
        cursor.execute("SET LOCAL work_mem = %s", [settings.SUPPORT_DASHBOARD_WORK_MEM])
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    timings[name] = round((time.perf_counter() - started) * 1000, 1)
    return rows


def _group(rows: dict[Any, Row], g_day: int, g_route: int, day: Any, route: Any) -> Row:
    key: Any = "total" if g_day and g_route else (("day", day) if not g_day else ("route", route))
    return rows.setdefault(key, Row())


def outcomes(*, filters: DashboardFilters, now: dt.datetime | None = None) -> Outcomes:
    """Totals, a row per day with conversations and a row per route, for `filters`."""
    from django.utils import timezone

    start, end = filters.bounds()
    now = now or timezone.now()
    params = {
        "tz": settings.TIME_ZONE,
        "start": start,
        "end": end,
        "route": filters.route,
        "resolved_codes": list(settings.SUPPORT_DASHBOARD_RESOLVED_CODES),
        "idle_before": now - dt.timedelta(minutes=settings.SUPPORT_DASHBOARD_IDLE_MINUTES),
        "approved": [str(s) for s in APPROVED_STATUSES],
    }
    timings: dict[str, float] = {}
    groups: dict[Any, Row] = {}
    for g_day, g_route, day, route, *v in _run(_sql(_CONVERSATIONS, route=filters.route), params, timings, "outcomes"):
        row = _group(groups, g_day, g_route, day, route)
        (row.conversations, row.bot_involved, row.staff_involved, row.escalated, row.confirmed) = v[:5]
        row.left_satisfied, row.csat_count = v[5], v[6]
        row.csat_avg = float(v[7]) if v[7] is not None else None
        row.thumbs_up, row.thumbs_down, row.cost = int(v[8] or 0), int(v[9] or 0), Decimal(v[10] or 0)
        row.first_response_p50_ms, row.first_response_p95_ms = v[11], v[12]
    for g_day, g_route, day, route, p50, p95 in _run(
        _sql(_FULL_REPLY, route=filters.route), params, timings, "full_reply"
    ):
        row = _group(groups, g_day, g_route, day, route)
        row.full_reply_p50_ms, row.full_reply_p95_ms = p50, p95
    for g_day, g_route, day, route, requested, approved in _run(
        _sql(_REFUNDS, route=filters.route), params, timings, "refunds"
    ):
        row = _group(groups, g_day, g_route, day, route)
        row.refunds_requested, row.refunds_approved = requested, approved
    reasons = [(code, n) for code, n in _run(_sql(_REASONS, route=filters.route), params, timings, "reasons")]
    return Outcomes(
        filters=filters,
        total=groups.get("total", Row()),
        by_day=sorted((k[1], r) for k, r in groups.items() if isinstance(k, tuple) and k[0] == "day"),
        by_route=sorted(
            ((k[1], r) for k, r in groups.items() if isinstance(k, tuple) and k[0] == "route"),
            key=lambda item: -item[1].conversations,
        ),
        escalation_reasons=reasons,
        query_ms=timings,
    )
