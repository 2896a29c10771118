"""A small shop for the specialists' tests: two customers, each with orders in the states that matter."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo

from apps.commerce.models import Order, OrderStatus
from tests.commerce.factories import make_customer, make_order, make_variant


@dataclass
class Shop:
    alice: Any
    bob: Any
    alice_pending: Order
    alice_delivered: Order
    alice_shipped: Order
    bob_delivered: Order
    bob_pending: Order


@pytest.fixture
def shop(db: Any) -> Shop:
    alice = make_customer(email="alice@example.test", first_name="Alice")
    bob = make_customer(email="bob@example.test", first_name="Bob")
    hoodie = make_variant(price="68.00", name="Harbor Hoodie")
    socks = make_variant(price="26.00", name="Merino Socks")
    espresso = make_variant(price="249.00", name="Espresso Machine")
    return Shop(
        alice=alice,
        bob=bob,
        alice_pending=make_order(customer=alice, status=OrderStatus.PENDING, items=[(socks, 2)], number="TW-200001"),
        alice_delivered=make_order(
            customer=alice,
            status=OrderStatus.DELIVERED,
            items=[(hoodie, 1), (socks, 1)],
            tax="7.52",
            delivered_at=timezone.now() - timedelta(days=3),
            number="TW-200002",
        ),
        alice_shipped=make_order(customer=alice, status=OrderStatus.SHIPPED, items=[(hoodie, 1)], number="TW-200003"),
        bob_delivered=make_order(
            customer=bob,
            status=OrderStatus.DELIVERED,
            items=[(espresso, 1)],
            delivered_at=timezone.now() - timedelta(days=2),
            number="TW-300001",
        ),
        bob_pending=make_order(customer=bob, status=OrderStatus.PENDING, items=[(espresso, 1)], number="TW-300002"),
    )


class Hostile:
    """A scripted model that does what an attacker wants: it makes the given tool calls, then claims success.

    It records everything the tools answered (results and retry prompts) so a test can check that nothing
    from outside the session leaked back to it.
    """

    def __init__(self, *steps: list[tuple[str, dict[str, Any]]], final: str = "All done, your refund is on its way!"):
        self.steps = list(steps)
        self.final = final
        self.seen: list[str] = []

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        step = 0
        for message in reversed(messages):
            if isinstance(message, ModelRequest) and any(isinstance(p, UserPromptPart) for p in message.parts):
                break
            if isinstance(message, ModelResponse):
                step += 1
            if isinstance(message, ModelRequest):
                for part in message.parts:
                    if isinstance(part, ToolReturnPart | RetryPromptPart):
                        shown = part.model_response_str() if isinstance(part, ToolReturnPart) else part.model_response()
                        self.seen.append(f"{part.tool_name}: {shown}")
        if step < len(self.steps):
            return ModelResponse(parts=[ToolCallPart(tool_name=n, args=a) for n, a in self.steps[step]])
        return ModelResponse(parts=[TextPart(content=self.final)])


@pytest.fixture
def use_model(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Callable[[str, Any], Any]:
    """Run specialist `route` on `behaviour` as its (local) model, with the router fixed on that route."""
    from apps.agents import registry, turns
    from apps.agents.routes import RouteDecision

    settings.SWITCHBOARD_AGENT_MODEL = "local"
    settings.SWITCHBOARD_AGENT_FALLBACKS = []
    settings.SWITCHBOARD_TURN_MAX_TOOL_CALLS = 40
    settings.SWITCHBOARD_TURN_MAX_MODEL_REQUESTS = 20

    def _use(route: str, behaviour: Any) -> Any:
        spec = registry.specialist_for(route)
        monkeypatch.setattr(spec, "local_behaviour", behaviour)

        def fixed(text: str, *, conversation: Any, history: Any) -> RouteDecision:
            return RouteDecision(route, 0.99, "local", "test router")

        monkeypatch.setattr(turns, "route_message", fixed)
        return spec

    return _use


@pytest.fixture
def chat(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Play one customer message through the real turn (synchronously); returns (reply text, tool spans)."""
    from apps.agents import turns
    from apps.agents.turns import turn_run
    from apps.conversations import events
    from apps.conversations.services import message_accept_customer
    from apps.observability.models import SpanKind, Trace

    async def no_delta(*args: Any, **kwargs: Any) -> None:
        return None

    monkeypatch.setattr(events, "push_now", lambda *args, **kwargs: None)
    monkeypatch.setattr(turns, "send_delta", no_delta)
    counter = iter(range(1, 1000))

    def _chat(conversation: Any, text: str) -> tuple[str, list[Any]]:
        message, _ = message_accept_customer(
            conversation=conversation, text=text, client_message_id=f"m{next(counter)}"
        )
        reply = turn_run(message_id=message.pk)
        trace = Trace.objects.filter(message=message).order_by("-id").first()
        spans = list(trace.spans.filter(kind=SpanKind.TOOL_CALL).order_by("position")) if trace else []
        conversation.refresh_from_db()
        return (reply.text if reply is not None else ""), spans

    return _chat
