"""Routes, as the runtime uses them: all derived from `apps.conversations.models.Route`.

The database column `Conversation.current_route` needs the enum, so it is the one
definition. A route that is not `human` or `out_of_scope` is a specialist route,
served by the package `apps.agents.specialists.<route>`.

`RouteDecision` is what the router answers; `HistoryTurn` is one earlier message
of the conversation, as the router and the model context read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from apps.conversations.models import Route

ROUTES: tuple[str, ...] = tuple(Route.values)
HUMAN: str = Route.HUMAN.value
OUT_OF_SCOPE: str = Route.OUT_OF_SCOPE.value
# Where a message that only names one of the customer's items goes: the order that holds it.
ORDER: str = Route.ORDER.value
# Routes the turn answers itself (escalate / decline politely): every other route is a specialist.
NON_SPECIALIST_ROUTES = frozenset({HUMAN, OUT_OF_SCOPE})
SPECIALIST_ROUTES: tuple[str, ...] = tuple(r for r in ROUTES if r not in NON_SPECIALIST_ROUTES)
# For structured model output (the LLM router): the same values as a type.
RouteName = Literal[ROUTES]  # type: ignore[valid-type]


@dataclass(frozen=True)
class RouteDecision:
    """Where a message goes. `source` is "local" (classifier or sticky rule) or "llm"."""

    route: str
    confidence: float
    source: str
    reason: str = ""

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ValueError(f"unknown route {self.route!r}")

    def as_dict(self) -> dict[str, Any]:
        return {"route": self.route, "confidence": self.confidence, "source": self.source, "reason": self.reason}


@dataclass(frozen=True)
class HistoryTurn:
    """One earlier message: role is customer | assistant | staff | system; `agent` names the specialist."""

    role: str
    text: str
    agent: str = ""
