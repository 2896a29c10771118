"""Budgets: per turn, per conversation and per customer per UTC day.

The per-turn part is enforced while the turn runs: model requests, tool calls
and tokens by pydantic-ai `UsageLimits`, wall-clock seconds by a deadline
around the run. The rest is checked before a turn starts:

- per conversation and per customer per UTC day: from the stored traces, in one statement over the
  conversation's and the customer's own traces (indexed, bounded by what one of them spends);
- guests per UTC day (per browser session, per starting address, all guests together): from Redis counters
  (`guest_spend_count`, added once each guest trace is committed; one hash per scope and day, with a TTL).
  Summing those from the traces read every guest trace of the day on every guest turn (issue 14).

Exhausted means: no model call; hand off to a person and say so
(`budget_exhausted`). A limit of 0 is off. See docs/security.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as dtime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from pydantic_ai.usage import UsageLimits

from apps.agents.turn_queue import queue_client
from apps.observability.errors import capture_exception
from apps.observability.models import Trace

BUDGET_EXHAUSTED_REPLY = (
    "I have reached the limit of what I can do automatically for now, so I am handing you over to a "
    "person from our team. They will pick it up from here; you do not need to repeat anything."
)


def _limit(value: int | float) -> int | float | None:
    return value if value and value > 0 else None


@dataclass
class TurnBudget:
    max_model_requests: int | None
    max_tool_calls: int | None
    max_tokens: int | None
    max_seconds: float | None
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def from_settings(cls) -> TurnBudget:
        return cls(
            max_model_requests=_limit(settings.SWITCHBOARD_TURN_MAX_MODEL_REQUESTS),
            max_tool_calls=_limit(settings.SWITCHBOARD_TURN_MAX_TOOL_CALLS),
            max_tokens=_limit(settings.SWITCHBOARD_TURN_MAX_TOKENS),
            max_seconds=_limit(settings.SWITCHBOARD_TURN_MAX_SECONDS),
        )

    def usage_limits(self) -> UsageLimits:
        return UsageLimits(
            request_limit=self.max_model_requests,
            tool_calls_limit=self.max_tool_calls,
            total_tokens_limit=self.max_tokens,
        )

    def seconds_left(self) -> float | None:
        if self.max_seconds is None:
            return None
        return max(0.0, self.max_seconds - (time.monotonic() - self.started))


def _day_start() -> datetime:
    return datetime.combine(timezone.now().astimezone(UTC).date(), dtime.min, tzinfo=UTC)


Scope = tuple[str, list[Any]]  # a condition on the trace `t` (and its conversation `c`) and its parameters


def _usage(scopes: dict[str, Scope]) -> dict[str, dict]:
    """Turns, tokens and cost of the traces in each scope, all read in one statement.

    Written as SQL: the ORM took longer to compile this statement (fifteen filtered aggregates) than
    PostgreSQL took to run it, on every turn (issue 14)."""
    columns: list[str] = []
    params: list[Any] = []
    for condition, values in scopes.values():
        columns.append(
            f"count(*) FILTER (WHERE {condition}), "
            f"coalesce(sum(t.input_tokens) FILTER (WHERE {condition}), 0)"
            f" + coalesce(sum(t.output_tokens) FILTER (WHERE {condition}), 0), "
            f"coalesce(sum(t.cost) FILTER (WHERE {condition}), 0)"
        )
        params.extend(values * 4)
    where = " OR ".join(f"({condition})" for condition, _ in scopes.values())
    for _, values in scopes.values():
        params.extend(values)
    sql = f"SELECT {', '.join(columns)} FROM {Trace._meta.db_table} t WHERE {where}"  # noqa: S608 - constant conditions
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    usage: dict[str, dict] = {}
    for position, name in enumerate(scopes):
        turns, tokens, cost = row[3 * position : 3 * position + 3]
        usage[name] = {"turns": turns, "tokens": int(tokens), "cost": Decimal(cost)}
    return usage


# --- guests: counters in Redis -----------------------------------------------------------------------
_GUEST_PREFIX = "switchboard:budget:guest:"
_GUEST_TTL_SECONDS = 2 * 24 * 3600  # a day's counters outlive the day they count
_MICROS = Decimal(1_000_000)  # cost is counted in millionths (the trace's precision), so sums stay exact


def _guest_keys(day: date, *, session_key: str, client_ip: str | None) -> dict[str, str]:
    """The counters a guest turn on `day` (UTC) counts in: its browser session's, its address's, all guests'."""
    prefix = f"{_GUEST_PREFIX}{day.isoformat()}:"
    keys: dict[str, str] = {}
    if session_key:
        keys["session"] = f"{prefix}session:{session_key}"
    if client_ip:
        keys["address"] = f"{prefix}ip:{client_ip}"
    keys["guests"] = f"{prefix}all"
    return keys


def guest_spend_count(trace: Trace) -> None:
    """Count a stored guest turn (a trace without a customer) in today's guest counters; others count nothing.

    Called after the trace's transaction commits (`turns._persist_trace`): a turn rolled back counts nothing,
    and a worker that dies between the commit and this call leaves one turn uncounted."""
    if trace.customer_id is not None:
        return
    conversation = trace.conversation
    keys = _guest_keys(
        trace.started_at.astimezone(UTC).date(),
        session_key=getattr(conversation, "session_key", "") or "",
        client_ip=getattr(conversation, "client_ip", None),
    )
    tokens = int(trace.input_tokens or 0) + int(trace.output_tokens or 0)
    micros = int((Decimal(trace.cost or 0) * _MICROS).to_integral_value(rounding=ROUND_HALF_UP))
    pipe = queue_client().pipeline(transaction=False)
    for key in keys.values():
        pipe.hincrby(key, "turns", 1)
        pipe.hincrby(key, "tokens", tokens)
        pipe.hincrby(key, "cost", micros)
        pipe.expire(key, _GUEST_TTL_SECONDS)
    pipe.execute()


def count_guest_spend(trace: Trace, **where: Any) -> None:
    """`guest_spend_count(trace)` once the current transaction commits (at once outside one); a failure is reported,
    never raised: the reply and its trace are stored by then."""

    def count() -> None:
        try:
            guest_spend_count(trace)
        except Exception as exc:  # noqa: BLE001 -- a lost count must not fail the turn
            capture_exception(exc, stage="budget count", **where)

    transaction.on_commit(count)


def _guest_usage(keys: dict[str, str]) -> dict[str, dict]:
    """Turns, tokens and cost in each of `keys`' counters, in one round trip."""
    pipe = queue_client().pipeline(transaction=False)
    for key in keys.values():
        pipe.hmget(key, "turns", "tokens", "cost")
    usage: dict[str, dict] = {}
    for name, (turns, tokens, micros) in zip(keys, pipe.execute(), strict=True):
        cost = Decimal(int(micros or 0)).scaleb(-6)
        usage[name] = {"turns": int(turns or 0), "tokens": int(tokens or 0), "cost": cost}
    return usage


def _over(label: str, used: int | Decimal, limit: int | Decimal | None) -> str:
    return f"{label} {used} >= {limit}" if limit is not None and limit > 0 and used >= limit else ""


def budget_exceeded_before_turn(*, conversation: object, customer: object | None) -> str:
    """'' when the turn may run, else which budget is spent (for the trace).

    A customer has a daily budget of their own. A guest (no customer) has no account to count against,
    so their spend is counted by what they cannot shed by starting again: the browser session's
    conversations today (the per-conversation limits), the address that started the conversation
    (per-address daily limits) and all guests together (the total daily limits).
    """
    day_start = _day_start()
    scopes: dict[str, Scope] = {"conversation": ("t.conversation_id = %s", [conversation.pk])}
    session_key = getattr(conversation, "session_key", "")
    client_ip = getattr(conversation, "client_ip", None)
    if customer is not None:
        scopes["customer"] = ("t.customer_id = %s AND t.started_at >= %s", [customer.pk, day_start])
    usage = _usage(scopes)
    if customer is None:
        usage.update(_guest_usage(_guest_keys(day_start.date(), session_key=session_key, client_ip=client_ip)))
    totals = usage["conversation"]
    spent = _over("conversation turns", totals["turns"], _limit(settings.SWITCHBOARD_CONVERSATION_MAX_TURNS)) or _over(
        "conversation tokens", totals["tokens"], _limit(settings.SWITCHBOARD_CONVERSATION_MAX_TOKENS)
    )
    if spent:
        return spent
    if customer is not None:
        daily = usage["customer"]
        return _over(
            "customer tokens today", daily["tokens"], _limit(settings.SWITCHBOARD_CUSTOMER_DAILY_MAX_TOKENS)
        ) or _over("customer cost today", daily["cost"], settings.SWITCHBOARD_CUSTOMER_DAILY_MAX_COST)
    if session_key:
        session = usage["session"]
        spent = _over(
            "session turns today", session["turns"], _limit(settings.SWITCHBOARD_CONVERSATION_MAX_TURNS)
        ) or _over("session tokens today", session["tokens"], _limit(settings.SWITCHBOARD_CONVERSATION_MAX_TOKENS))
        if spent:
            return spent
    if client_ip:
        by_ip = usage["address"]
        spent = (
            _over(
                "guest turns today from this address",
                by_ip["turns"],
                _limit(settings.SWITCHBOARD_GUEST_DAILY_MAX_TURNS_PER_IP),
            )
            or _over(
                "guest tokens today from this address",
                by_ip["tokens"],
                _limit(settings.SWITCHBOARD_GUEST_DAILY_MAX_TOKENS_PER_IP),
            )
            or _over(
                "guest cost today from this address", by_ip["cost"], settings.SWITCHBOARD_GUEST_DAILY_MAX_COST_PER_IP
            )
        )
        if spent:
            return spent
    everyone = usage["guests"]
    return _over(
        "guest tokens today", everyone["tokens"], _limit(settings.SWITCHBOARD_GUEST_DAILY_MAX_TOKENS)
    ) or _over("guest cost today", everyone["cost"], settings.SWITCHBOARD_GUEST_DAILY_MAX_COST)
