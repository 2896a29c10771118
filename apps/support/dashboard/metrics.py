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

Reads the daily rollup (`rollup.py`: one row per day and route, about 1,800 for a year) plus the
conversations created since it was built, computed live; the counts and the two latencies are one SQL
statement each with GROUPING SETS (total, day, route). Percentiles stay exact: the rollup keeps the values.
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
from apps.support.dashboard import rollup
from apps.support.models import ApprovalStatus, Escalation, OutcomeDay, RefundApproval

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


# One row of facts per conversation: the materialized view `support_conversation_outcome` holds them for every
# conversation as of its last refresh (migration 0007 freezes this statement; change both together), and the
# daily rollup (`rollup.py`) sums the view. Conversations started after the rollup's facts are computed live.
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

# The range: the rollup's rows of its days, plus the conversations created since its facts, computed live
# and shaped like rollup rows (one conversation each).
_RANGE = """
cover AS (SELECT COALESCE(max(facts_at), '-infinity'::timestamptz) AS at FROM {rollup} WHERE key = %(key)s),
live AS (
    SELECT f.*, (f.created_at AT TIME ZONE %(tz)s)::date AS day, {confirmed} AS confirmed,
           {left_candidate} AS candidate
    FROM ({live}) f
),
days AS (
    SELECT * FROM {rollup} d
    WHERE d.key = %(key)s AND d.day >= %(date_from)s AND d.day <= %(date_to)s {route_d}
)"""

_GROUPS = "GROUP BY GROUPING SETS ((), (day), (route))"
_GROUP_COLUMNS = "GROUPING(day) AS g_day, GROUPING(route) AS g_route, day, route"

_CONVERSATIONS = """
WITH {range},
parts AS (
    SELECT day, route, conversations, bot_involved AS bot, staff_involved AS staff, escalated, confirmed,
           CASE WHEN left_last_at IS NULL OR left_last_at < %(idle_before)s THEN left_candidates
                ELSE (SELECT count(*) FROM unnest(left_times) AS t WHERE t < %(idle_before)s) END AS left_satisfied,
           csat_count, csat_sum, thumbs_up AS up, thumbs_down AS down, cost
    FROM days
    UNION ALL
    SELECT day, route, 1, bot::int, staff::int, escalated::int, confirmed::int,
           (candidate AND last_message_at < %(idle_before)s)::int, (csat_score IS NOT NULL)::int,
           COALESCE(csat_score, 0), up, down, cost
    FROM live
)
SELECT {group_columns},
       sum(conversations), sum(bot), sum(staff), sum(escalated), sum(confirmed), sum(left_satisfied),
       sum(csat_count), sum(csat_sum)::float8 / NULLIF(sum(csat_count), 0), sum(up), sum(down), sum(cost)
FROM parts {groups}
"""

# Both latencies, exact. A day's percentiles come from its rollup rows, computed when they were built (days
# with live conversations are grouped here); the total and each route are computed over just their values
# (a lateral subquery per group: no sort of the whole range by route).
_LATENCY = """
WITH {range},
vals AS (
    SELECT day, route, first_response_ms AS f, full_reply_ms AS r FROM days
    UNION ALL
    SELECT day, route, CASE WHEN first_response_ms >= 0 THEN ARRAY[first_response_ms] END, full_reply_ms FROM live
),
live_days AS (SELECT DISTINCT day FROM live),
groups AS (
    SELECT 1 AS g_day, 1 AS g_route, NULL::date AS route_day, NULL::text AS route
    UNION ALL
    SELECT DISTINCT 1, 0, NULL::date, route FROM vals
),
day_f AS (
    SELECT x.day, percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY v) AS p
    FROM vals x CROSS JOIN LATERAL unnest(x.f) v WHERE x.day IN (SELECT day FROM live_days) GROUP BY x.day
),
day_r AS (
    SELECT x.day, percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY v) AS p
    FROM vals x CROSS JOIN LATERAL unnest(x.r) v WHERE x.day IN (SELECT day FROM live_days) GROUP BY x.day
)
SELECT g.g_day, g.g_route, g.route_day, g.route, f.p[1], f.p[2], r.p[1], r.p[2]
FROM groups g
CROSS JOIN LATERAL (
    SELECT percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY v) AS p FROM vals x CROSS JOIN LATERAL unnest(x.f) v
    WHERE g.g_route = 1 OR x.route = g.route
) f
CROSS JOIN LATERAL (
    SELECT percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY v) AS p FROM vals x CROSS JOIN LATERAL unnest(x.r) v
    WHERE g.g_route = 1 OR x.route = g.route
) r
UNION ALL
SELECT 0, 1, l.day, NULL::text, f.p[1], f.p[2], r.p[1], r.p[2]
FROM live_days l LEFT JOIN day_f f ON f.day = l.day LEFT JOIN day_r r ON r.day = l.day
UNION ALL
(
    SELECT DISTINCT ON (day) 0, 1, day, NULL::text, {day_p}[1], {day_p}[2], {day_p}[3], {day_p}[4]
    FROM days WHERE day NOT IN (SELECT day FROM live_days)
    ORDER BY day
)
"""

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
        f"c.created_at >= GREATEST(%(start)s, (SELECT at FROM cover)) AND c.created_at < %(end)s {route_c}"  # noqa: S608
    )
    range_ = _RANGE.format(
        rollup=OutcomeDay._meta.db_table,
        live=live,
        confirmed=rollup.CONFIRMED,
        left_candidate=rollup.LEFT_CANDIDATE,
        route_d="AND d.route = %(route)s" if route else "",
    )
    return template.format(
        range=range_.strip(),
        groups=_GROUPS,
        group_columns=_GROUP_COLUMNS,
        route_c=route_c,
        # With one route, a day's rollup row is the day; without, each row of the day carries the whole day's.
        day_p="own_p" if route else "day_p",
        **names,
    )


def _run(sql: str, params: dict[str, Any], timings: dict[str, float], name: str) -> list[tuple[Any, ...]]:
    import time

    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        # The year's hash aggregates fit in memory instead of spilling to disk (this statement only).
        # set_config(..., true) is SET LOCAL with a bound value (SET takes no parameters bound by the server).
        cursor.execute("SELECT set_config('work_mem', %s, true)", [str(settings.SUPPORT_DASHBOARD_WORK_MEM)])
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
        "key": rollup.settings_key(),
        "start": start,
        "end": end,
        "date_from": filters.date_from,
        "date_to": filters.date_to,
        "route": filters.route,
        "resolved_codes": list(settings.SUPPORT_DASHBOARD_RESOLVED_CODES),
        "idle_before": now - dt.timedelta(minutes=settings.SUPPORT_DASHBOARD_IDLE_MINUTES),
        "approved": [str(s) for s in APPROVED_STATUSES],
    }
    timings: dict[str, float] = {}
    groups: dict[Any, Row] = {}
    for g_day, g_route, day, route, *v in _run(_sql(_CONVERSATIONS, route=filters.route), params, timings, "outcomes"):
        row = _group(groups, g_day, g_route, day, route)
        # An empty range still has its total row, of NULL sums.
        v[:7] = [int(x or 0) for x in v[:7]]
        row.conversations, row.bot_involved, row.staff_involved, row.escalated, row.confirmed = v[:5]
        row.left_satisfied, row.csat_count = v[5], v[6]
        row.csat_avg = float(v[7]) if v[7] is not None else None
        row.thumbs_up, row.thumbs_down, row.cost = int(v[8] or 0), int(v[9] or 0), Decimal(v[10] or 0)
    for g_day, g_route, day, route, *p in _run(_sql(_LATENCY, route=filters.route), params, timings, "latency"):
        row = _group(groups, g_day, g_route, day, route)
        row.first_response_p50_ms, row.first_response_p95_ms, row.full_reply_p50_ms, row.full_reply_p95_ms = p
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
            key=lambda item: (-item[1].conversations, item[0]),
        ),
        escalation_reasons=reasons,
        query_ms=timings,
    )
