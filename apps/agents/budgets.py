"""Budgets: per turn, per conversation and per customer per UTC day.

The per-turn part is enforced while the turn runs: model requests, tool calls
and tokens by pydantic-ai `UsageLimits`, wall-clock seconds by a deadline
around the run. The per-conversation, per-customer-day and guest-day parts
(per browser session, per starting address, all guests together) are checked
before a turn starts, from the stored traces (no second counter to drift), in one statement.
Exhausted means: no model call; hand off to a person and say so
(`budget_exhausted`). A limit of 0 is off. See docs/security.md.
"""

from __future__ import annotations

import operator
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as dtime
from decimal import Decimal
from functools import reduce
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from pydantic_ai.usage import UsageLimits

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


def _usage(scopes: dict[str, Q]) -> dict[str, dict]:
    """Turns, tokens and cost of the traces in each scope, all read in one statement."""
    sums: dict[str, Any] = {}
    for name, scope in scopes.items():
        sums[f"{name}__turns"] = Count("id", filter=scope)
        sums[f"{name}__tokens"] = Coalesce(Sum("input_tokens", filter=scope), 0) + Coalesce(
            Sum("output_tokens", filter=scope), 0
        )
        sums[f"{name}__cost"] = Coalesce(Sum("cost", filter=scope), Decimal("0"))
    row = Trace.objects.filter(reduce(operator.or_, scopes.values())).aggregate(**sums)
    usage: dict[str, dict] = {name: {} for name in scopes}
    for key, value in row.items():
        name, _, what = key.partition("__")
        usage[name][what] = value
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
    scopes = {"conversation": Q(conversation=conversation)}
    session_key = getattr(conversation, "session_key", "")
    client_ip = getattr(conversation, "client_ip", None)
    if customer is not None:
        scopes["customer"] = Q(customer=customer, started_at__gte=day_start)
    else:
        guests_today = Q(customer__isnull=True, started_at__gte=day_start)
        if session_key:
            scopes["session"] = guests_today & Q(conversation__session_key=session_key)
        if client_ip:
            scopes["address"] = guests_today & Q(conversation__client_ip=client_ip)
        scopes["guests"] = guests_today
    usage = _usage(scopes)
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
