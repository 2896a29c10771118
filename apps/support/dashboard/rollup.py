"""The dashboard's daily rollup (`OutcomeDay`): per day and route, the sums of the per-conversation facts.

The beat job (`outcomes_refresh`) first refreshes the facts view `support_conversation_outcome` (one row
per conversation, `metrics._FACTS`), then rebuilds the rollup from it in one transaction: readers see the
old rows or the new ones, never a mix. A year is then about 1,800 rows instead of 110k conversations.
Conversations created after the facts the rollup was built from (`facts_at`) are computed live.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import connection, transaction

from apps.support.models import OutcomeDay

MATVIEW = "support_conversation_outcome"
TABLE = OutcomeDay._meta.db_table

# What makes a conversation "confirmed" resolved; the same expression over the live facts (metrics.py).
CONFIRMED = "(f.resolution_code = ANY(%(resolved_codes)s) OR f.up > 0 OR COALESCE(f.csat_score, 0) >= 4)"
# It may count as "left satisfied" once the customer has been quiet long enough (judged when read).
LEFT_CANDIDATE = f"(NOT {CONFIRMED} AND NOT f.escalated AND f.bot_last)"

_PCT = "percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY {value})"
_NO_PCT = "ARRAY[NULL, NULL]::float8[]"
_FIRST = _PCT.format(value="f.first_response_ms") + " FILTER (WHERE f.first_response_ms >= 0)"

_BUILD = f"""
INSERT INTO {TABLE} (key, facts_at, day, route, conversations, bot_involved, staff_involved, escalated, confirmed,
    left_candidates, left_last_at, left_times, csat_count, csat_sum, thumbs_up, thumbs_down, cost,
    first_response_ms, full_reply_ms, own_p, day_p)
WITH facts AS (
    SELECT f.*, (f.created_at AT TIME ZONE %(tz)s)::date AS day FROM {MATVIEW} f
),
replies AS (
    SELECT f.day, f.route, array_agg(ms) AS full_reply_ms, {_PCT.format(value="ms")} AS p
    FROM facts f CROSS JOIN LATERAL unnest(f.full_reply_ms) AS ms
    GROUP BY f.day, f.route
),
day_replies AS (
    SELECT f.day, {_PCT.format(value="ms")} AS p
    FROM facts f CROSS JOIN LATERAL unnest(f.full_reply_ms) AS ms
    GROUP BY f.day
),
whole_day AS (
    SELECT f.day, COALESCE({_FIRST}, {_NO_PCT}) || COALESCE(min(d.p), {_NO_PCT}) AS p
    FROM facts f LEFT JOIN day_replies d ON d.day = f.day
    GROUP BY f.day
)
SELECT %(key)s, (SELECT max(refreshed_at) FROM {MATVIEW}), f.day, f.route, count(*),
       count(*) FILTER (WHERE f.bot), count(*) FILTER (WHERE f.staff), count(*) FILTER (WHERE f.escalated),
       count(*) FILTER (WHERE {CONFIRMED}),
       count(*) FILTER (WHERE {LEFT_CANDIDATE}),
       max(f.last_message_at) FILTER (WHERE {LEFT_CANDIDATE}),
       COALESCE(array_agg(f.last_message_at) FILTER (WHERE {LEFT_CANDIDATE}), '{{}}'),
       count(f.csat_score), COALESCE(sum(f.csat_score), 0), sum(f.up), sum(f.down), sum(f.cost),
       COALESCE(array_agg(f.first_response_ms) FILTER (WHERE f.first_response_ms >= 0), '{{}}'),
       COALESCE(min(r.full_reply_ms), '{{}}'),
       COALESCE({_FIRST}, {_NO_PCT}) || COALESCE(min(r.p), {_NO_PCT}),
       min(w.p)
FROM facts f LEFT JOIN replies r ON r.day = f.day AND r.route = f.route JOIN whole_day w ON w.day = f.day
GROUP BY f.day, f.route
"""  # noqa: S608 - constant SQL; every value is a bound parameter


def settings_key() -> str:
    """The settings a rollup row depends on; rows built under others are not read."""
    codes = ",".join(sorted(settings.SUPPORT_DASHBOARD_RESOLVED_CODES))
    return hashlib.sha256(f"{settings.TIME_ZONE}|{codes}".encode()).hexdigest()[:32]


def outcome_days_rebuild() -> int:
    """Replace the rollup with the sums of the facts view as it is now; the number of rows written."""
    params = {
        "tz": settings.TIME_ZONE,
        "key": settings_key(),
        "resolved_codes": list(settings.SUPPORT_DASHBOARD_RESOLVED_CODES),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        # set_config(..., true) is SET LOCAL with a bound value (SET takes no parameters bound by the server).
        cursor.execute("SELECT set_config('work_mem', %s, true)", [str(settings.SUPPORT_DASHBOARD_WORK_MEM)])
        # DELETE, not TRUNCATE: readers keep the old rows until this commits instead of waiting on a lock.
        cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 - a model's table name
        cursor.execute(_BUILD, params)
        return cursor.rowcount


def outcomes_refresh() -> int:
    """The beat job: recompute every conversation's facts (readers are never blocked), then the rollup."""
    with connection.cursor() as cursor:
        cursor.execute(f"REFRESH MATERIALIZED VIEW CONCURRENTLY {MATVIEW}")
    return outcome_days_rebuild()
