"""Budgets: per turn, per conversation and per customer per UTC day.

The per-turn part is enforced while the turn runs: model requests, tool calls
and tokens by pydantic-ai `UsageLimits`, wall-clock seconds by a deadline
around the run. The per-conversation and per-customer-day parts are checked
before a turn starts, from the stored traces (no second counter to drift).
Exhausted means: hand off to a person and say so (`budget_exhausted`).
A limit of 0 is off.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as dtime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from pydantic_ai.usage import UsageLimits

from apps.observability.models import Trace

BUDGET_EXHAUSTED_REPLY = (
    "I have reached the limit of what I can do automatically in this conversation, so I am handing you over to a "
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


def budget_exceeded_before_turn(*, conversation: object, customer: object | None) -> str:
    """'' when the turn may run, else which budget is spent (for the trace)."""
    totals = Trace.objects.filter(conversation=conversation).aggregate(
        turns=Count("id"), tokens=Coalesce(Sum("input_tokens"), 0) + Coalesce(Sum("output_tokens"), 0)
    )
    max_turns = _limit(settings.SWITCHBOARD_CONVERSATION_MAX_TURNS)
    if max_turns is not None and totals["turns"] >= max_turns:
        return f"conversation turns {totals['turns']} >= {max_turns}"
    max_tokens = _limit(settings.SWITCHBOARD_CONVERSATION_MAX_TOKENS)
    if max_tokens is not None and totals["tokens"] >= max_tokens:
        return f"conversation tokens {totals['tokens']} >= {max_tokens}"
    if customer is None:
        return ""
    from datetime import UTC

    day_start = datetime.combine(timezone.now().astimezone(UTC).date(), dtime.min, tzinfo=UTC)
    daily = Trace.objects.filter(customer=customer, started_at__gte=day_start).aggregate(
        tokens=Coalesce(Sum("input_tokens"), 0) + Coalesce(Sum("output_tokens"), 0),
        cost=Coalesce(Sum("cost"), Decimal("0")),
    )
    max_daily_tokens = _limit(settings.SWITCHBOARD_CUSTOMER_DAILY_MAX_TOKENS)
    if max_daily_tokens is not None and daily["tokens"] >= max_daily_tokens:
        return f"customer tokens today {daily['tokens']} >= {max_daily_tokens}"
    max_cost = settings.SWITCHBOARD_CUSTOMER_DAILY_MAX_COST
    if max_cost and max_cost > 0 and daily["cost"] >= max_cost:
        return f"customer cost today {daily['cost']} >= {max_cost}"
    return ""
