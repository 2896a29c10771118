"""The router's interface, as the turn calls it.

The router itself (local embedding classifier first, LLM router below a
confidence threshold, sticky topics) lives in `apps.agents.routing`, built by
the local-model work. The turn calls:

    apps.agents.routing.route_message(text, *, conversation, history) -> RouteDecision

`history` is the trimmed context (oldest first) as `HistoryItem`s. When that
module is not installed the turn uses `route_without_router` below.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol

ROUTES = ("order", "returns", "billing", "faq", "human", "out_of_scope")


@dataclass(frozen=True)
class RouteDecision:
    route: str
    confidence: float
    source: str  # "local", "llm", "sticky", "fallback"
    reason: str = ""

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise ValueError(f"unknown route {self.route!r}")


@dataclass(frozen=True)
class HistoryItem:
    role: str  # customer | assistant | staff | system
    text: str
    agent: str = ""


class Router(Protocol):
    def __call__(self, text: str, *, conversation: Any, history: list[HistoryItem]) -> RouteDecision: ...


def route_without_router(text: str, *, conversation: Any, history: list[HistoryItem]) -> RouteDecision:
    """No router installed: keep the conversation's topic, else FAQ (which asks what is needed)."""
    current = getattr(conversation, "current_route", "") or ""
    if current and current not in ("human", "out_of_scope"):
        return RouteDecision(current, 0.0, "fallback", "no router installed: kept the current topic")
    return RouteDecision("faq", 0.0, "fallback", "no router installed")


def router() -> Router:
    try:
        module = importlib.import_module("apps.agents.routing")
    except ModuleNotFoundError as exc:
        if exc.name != "apps.agents.routing":
            raise
        return route_without_router
    return module.route_message
