"""The router: local embedding classifier first, the LLM router below a threshold, sticky topics.

See docs/local-model.md.
"""

from apps.agents.routing.behaviour import local_router_behaviour
from apps.agents.routing.classifier import ROUTES, Prediction, RouteClassifier, get_classifier
from apps.agents.routing.router import (
    HistoryTurn,
    LLMRouteOutput,
    LLMRouter,
    LLMRouteRequest,
    RouteDecision,
    aroute_message,
    build_llm_router,
    classify_text,
    follow_up_kind,
    route_message,
    set_llm_router,
    task_refusal,
)

__all__ = [
    "ROUTES",
    "HistoryTurn",
    "LLMRouteOutput",
    "LLMRouteRequest",
    "LLMRouter",
    "Prediction",
    "RouteClassifier",
    "RouteDecision",
    "aroute_message",
    "build_llm_router",
    "classify_text",
    "follow_up_kind",
    "get_classifier",
    "local_router_behaviour",
    "route_message",
    "set_llm_router",
    "task_refusal",
]
