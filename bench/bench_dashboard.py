"""Outcome dashboard on a year of conversations: seed volume, then the query times of each view.

Seeds BENCH_DASHBOARD_PER_DAY conversations a day for 365 days (default 300: about 110k conversations,
365k messages, 180k traces, feedback, escalations and refund requests) with set-based SQL, then times
`apps.support.dashboard.outcomes` (four statements) once with every conversation computed live, the beat
job's refresh (the facts view, then the daily rollup), and then (reading the rollup) the whole year, the
last 30 days and one route, and the page and CSV export through the test client. Prints p50 / max of
BENCH_DASHBOARD_RUNS runs with the load average beside each figure, and the CPU time (this process plus
its database backend), which the load does not inflate. BENCH_DASHBOARD_REUSE=1 measures again on an
already seeded var/bench.

Run: `.venv/bin/python -m config.devstack bench bench/bench_dashboard.py` (or `make bench`).
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

PER_DAY = int(os.environ.get("BENCH_DASHBOARD_PER_DAY", "300"))
RUNS = int(os.environ.get("BENCH_DASHBOARD_RUNS", "5"))
DAYS = 365

_SEED = """
INSERT INTO conversations_conversation
    (id, public_id, session_key, channel, status, current_route, summary, resolution_code, csat_comment,
     csat_score, created_at, updated_at, last_message_at, closed_at)
SELECT i, gen_random_uuid(), '', 'web',
       CASE WHEN i %% 9 = 0 THEN 'closed' ELSE 'open' END,
       (ARRAY['order', 'returns', 'billing', 'faq', 'human'])[1 + i %% 5], '',
       CASE WHEN i %% 9 = 0 THEN (ARRAY['resolved', 'no_response', 'refund_issued'])[1 + i %% 3] ELSE '' END, '',
       CASE WHEN i %% 6 = 0 THEN 1 + i %% 5 END,
       %(start)s + (i * %(step)s) * interval '1 second',
       %(start)s + (i * %(step)s + 120) * interval '1 second',
       %(start)s + (i * %(step)s + 60 + i %% 50) * interval '1 second',
       CASE WHEN i %% 9 = 0 THEN %(start)s + (i * %(step)s + 600) * interval '1 second' END
FROM generate_series(1, %(n)s) AS i;

-- Four messages a conversation (customer, bot, customer, bot or staff); ids derived from the conversation's.
INSERT INTO conversations_message
    (id, conversation_id, seq, role, client_message_id, text, html, status, agent, citations, data, in_reply_to_id,
     created_at)
SELECT c.id * 4 + k, c.id, k + 1,
       CASE WHEN k IN (0, 2) THEN 'customer' WHEN k = 3 AND c.id %% 10 = 0 THEN 'staff' ELSE 'assistant' END,
       '', 'message ' || k, '', '', '', '[]', '{}',
       CASE WHEN k = 1 OR (k = 3 AND c.id %% 10 <> 0) THEN c.id * 4 + k - 1 END,
       c.created_at + (k * 30 + (c.id * 7 + k) %% 9) * interval '1 second' + ((c.id %% 13) * 97) * interval '1 ms'
FROM conversations_conversation c CROSS JOIN generate_series(0, 3) AS k
WHERE k < 2 OR c.id %% 3 <> 0;

INSERT INTO observability_trace
    (conversation_id, message_id, route, route_source, agent, status, model_requests, tool_calls, input_tokens,
     output_tokens, cost, latency_ms, error, started_at, ended_at)
SELECT m.conversation_id, m.id, 'order', 'local', 'order', 'ok', 1, m.id %% 3, 800 + m.id %% 400, 60 + m.id %% 90,
       0.0004 + (m.id %% 17) * 0.00005, 400 + (m.id %% 41) * 37, '', m.created_at, m.created_at
FROM conversations_message m WHERE m.role = 'customer';

INSERT INTO conversations_feedback (conversation_id, message_id, rating, comment, created_at, updated_at)
SELECT m.conversation_id, m.id, CASE WHEN m.id %% 3 = 0 THEN 'down' ELSE 'up' END, '', m.created_at, m.created_at
FROM conversations_message m WHERE m.role = 'assistant' AND m.id %% 8 = 1;

INSERT INTO support_escalation (conversation_id, reason_code, status, note, resolution_code, created_at, updated_at)
SELECT c.id, (ARRAY['customer_request', 'low_confidence', 'policy_exception', 'tool_failure'])[1 + c.id %% 4],
       'resolved', '', '', c.created_at, c.created_at
FROM conversations_conversation c WHERE c.id %% 10 = 0;

INSERT INTO support_refundapproval
    (order_id, customer_id, amount, currency, reason, items, policy_check, conversation_id, requested_by_label,
     status, required_approvals, idempotency_key, execution_attempts, failure_message, last_error,
     created_at, updated_at)
SELECT %(order)s, %(customer)s, 10 + c.id %% 50, 'USD', 'bench', '[]', '{}', c.id, 'agent',
       (ARRAY['pending', 'approved', 'rejected', 'awaiting_return'])[1 + c.id %% 4], 1, 'bench:' || c.id, 0, '', '',
       c.created_at, c.created_at
FROM conversations_conversation c WHERE c.id %% 25 = 0;
"""


def _seed() -> dict[str, int]:
    from apps.commerce.models import Customer, Order

    seeded = connection.cursor().execute("SELECT count(*) FROM conversations_conversation").fetchone()[0]
    if seeded == PER_DAY * DAYS and os.environ.get("BENCH_DASHBOARD_REUSE"):
        # Measuring again on the same volume (BENCH_DASHBOARD_REUSE=1): the seeded year stays as it is.
        return {"conversations_conversation (reused)": seeded}
    if seeded:
        raise SystemExit("the bench database already has conversations; clean var/bench first")
    customer = Customer.objects.create(email="bench@example.com", first_name="Bench", last_name="Mark")
    order = Order.objects.create(
        number="TW-BENCH",
        customer=customer,
        subtotal=Decimal("60"),
        total=Decimal("60"),
        ship_name="B",
        ship_line1="1 Road",
        ship_city="Town",
        ship_postal_code="1",
        ship_country="US",
        placed_at=timezone.now(),
    )
    n = PER_DAY * DAYS
    start = timezone.now() - dt.timedelta(days=DAYS)
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in [s for s in _SEED.split(";\n") if s.strip()]:
            cursor.execute(
                statement,
                {"start": start, "step": 86400 // PER_DAY, "n": n, "order": order.pk, "customer": customer.pk},
            )
        for table in ("conversations_conversation", "conversations_message"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        counts = {}
        for table in (
            "conversations_conversation",
            "conversations_message",
            "observability_trace",
            "conversations_feedback",
            "support_escalation",
            "support_refundapproval",
        ):
            counts[table] = cursor.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
    return counts


def _load() -> str:
    """The 1/5/15-minute load average beside each figure (the machine may be shared)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu_ms() -> float:
    """CPU time so far of this process plus its PostgreSQL backend (same machine): what a run costs, whatever
    the load; -1 for the backend part when /proc is not readable."""
    own = time.process_time() * 1000
    try:
        pid = connection.cursor().execute("SELECT pg_backend_pid()").fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        backend = (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        backend = -1.0
    return own + backend


CPU: list[float] = []  # median CPU ms of the last `_time`


def _time(fn, runs: int = RUNS) -> tuple[float, float, object]:
    times, cpus, result = [], [], None
    for _ in range(runs):
        c, t = _cpu_ms(), time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
        cpus.append(_cpu_ms() - c)
    CPU[:] = [statistics.median(cpus)]
    return statistics.median(times), max(times), result


def main() -> None:
    from django.test import Client

    from apps.accounts.models import User
    from apps.support.dashboard import DashboardFilters, outcomes

    t = time.perf_counter()
    counts = _seed()
    print(
        f"seeded in {time.perf_counter() - t:.1f} s: "
        + ", ".join(f"{k.split('_', 1)[1]} {v}" for k, v in counts.items())
    )
    from apps.support.dashboard import outcomes_refresh
    from apps.support.models import OutcomeDay

    today = timezone.localdate()
    year = DashboardFilters(today - dt.timedelta(days=364), today)
    OutcomeDay.objects.all().delete()  # as before the first beat job: every conversation computed live
    p50, worst, result = _time(lambda: outcomes(filters=year), runs=1)
    print(
        f"outcomes year, all live (never refreshed)  {p50:7.1f} ms  ({result.total.conversations} conversations)"
        f"  [load {_load()}]"
    )
    p50, worst, rows = _time(outcomes_refresh, runs=2)
    print(
        f"refresh: facts view + daily rollup (beat)  p50 {p50:7.1f} ms  max {worst:7.1f} ms  ({rows} rollup rows)"
        f"  [load {_load()}]"
    )
    cases = {
        "year (365 days)": DashboardFilters(today - dt.timedelta(days=364), today),
        "last 30 days": DashboardFilters(today - dt.timedelta(days=29), today),
        "year, route=returns": DashboardFilters(today - dt.timedelta(days=364), today, route="returns"),
    }
    for name, filters in cases.items():
        p50, worst, result = _time(lambda f=filters: outcomes(filters=f))
        parts = ", ".join(f"{k} {v:.0f}" for k, v in result.query_ms.items())
        print(
            f"outcomes {name:<22} p50 {p50:7.1f} ms  max {worst:7.1f} ms  cpu {CPU[0]:6.0f} ms  "
            f"({result.total.conversations} conversations; last run: {parts} ms)  [load {_load()}]"
        )
    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_superuser(
        username="bench-admin", email="b@example.com", password=None
    )
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    since = (today - dt.timedelta(days=364)).isoformat()
    for name, url in (("page /dashboard/ (year)", "/dashboard/"), ("CSV export (year)", "/dashboard/export.csv")):
        p50, worst, response = _time(lambda u=url: client.get(u, {"from": since, "to": today.isoformat()}))
        assert response.status_code == 200, response.status_code
        print(
            f"{name:<31} p50 {p50:7.1f} ms  max {worst:7.1f} ms  cpu {CPU[0]:6.0f} ms  "
            f"({len(response.content) // 1024} KiB)  [load {_load()}]"
        )


if __name__ == "__main__":
    main()
