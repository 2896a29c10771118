"""Fixtures for the agent runtime: the fake LLM server, provider settings, recorded sleeps and events."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.llm_server import FakeLLMServer


@pytest.fixture
def llm_server() -> Iterator[FakeLLMServer]:
    server = FakeLLMServer().start()
    yield server
    server.stop()


@pytest.fixture
def providers(settings: Any, llm_server: FakeLLMServer) -> FakeLLMServer:
    """Both providers pointed at the fake server; agent chain openai -> anthropic -> local."""
    settings.OPENAI_API_KEY = "sk-test"
    settings.OPENAI_BASE_URL = llm_server.openai_base_url
    settings.ANTHROPIC_API_KEY = "sk-ant-test"
    settings.ANTHROPIC_BASE_URL = llm_server.anthropic_base_url
    settings.SWITCHBOARD_AGENT_MODEL = "openai:gpt-4.1-mini"
    settings.SWITCHBOARD_AGENT_FALLBACKS = ["anthropic:claude-sonnet-4-5"]
    settings.SWITCHBOARD_MODEL_TIMEOUT = 2.0
    settings.SWITCHBOARD_MODEL_MAX_RETRIES = 2
    settings.SWITCHBOARD_RETRY_BASE_DELAY = 0.5
    settings.SWITCHBOARD_RETRY_MAX_DELAY = 10.0
    return llm_server


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Backoff waits are recorded, not slept."""
    from apps.agents import resilience

    recorded: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(resilience, "sleep", fake_sleep)
    return recorded


@pytest.fixture
def pushed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Events sent with push_now (typing, deltas), in order."""
    from apps.agents import streaming
    from apps.conversations import events

    recorded: list[tuple[str, dict[str, Any]]] = []

    def fake_push_now(conversation: Any, event_type: str, **payload: Any) -> None:
        recorded.append((event_type, payload))

    async def fake_send_delta(conversation: Any, group: str, payload: dict[str, Any]) -> None:
        recorded.append(("delta", payload))

    monkeypatch.setattr(events, "push_now", fake_push_now)
    monkeypatch.setattr(streaming, "send_delta", fake_send_delta)
    return recorded


@pytest.fixture
def customer(db: Any) -> Any:
    from apps.commerce.models import Customer

    return Customer.objects.create(email="ada@example.com", first_name="Ada", last_name="Lovelace")


@pytest.fixture
def conversation(customer: Any) -> Any:
    from apps.conversations.models import Conversation

    return Conversation.objects.create(customer=customer)


@pytest.fixture
def say(conversation: Any) -> Any:
    """Store a customer message waiting for the bot (as message_accept_customer does, minus the task)."""
    from apps.conversations.models import MessageRole, MessageStatus
    from apps.conversations.services import message_create

    def _say(text: str, conv: Any = None) -> Any:
        return message_create(
            conversation=conv or conversation, role=MessageRole.CUSTOMER, text=text, status=MessageStatus.RECEIVED
        )

    return _say


@pytest.fixture
def route_to(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the router return a fixed route."""
    from apps.agents import turns
    from apps.agents.routes import RouteDecision

    def _route_to(route: str, confidence: float = 0.9) -> None:
        def fixed(text: str, *, conversation: Any, history: Any) -> RouteDecision:
            return RouteDecision(route, confidence, "local", "test router")

        monkeypatch.setattr(turns, "route_message", fixed)

    return _route_to


@pytest.fixture
def default_specialists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every route gets the default, tool-less spec: for tests of the runtime, not of the specialists."""
    from apps.agents import registry
    from apps.agents.specialists.base import BASE_INSTRUCTIONS

    for route in registry.SPECIALIST_ROUTES:
        spec = registry.SpecialistSpec(name=route, instructions=BASE_INSTRUCTIONS, version="default")
        monkeypatch.setitem(registry.SPECIALISTS, route, spec)


@pytest.fixture
def scripted_order_specialist(monkeypatch: pytest.MonkeyPatch, route_to: Any, pushed: list) -> Any:
    """Every turn goes to an order specialist with the scripted tools of tests/agents/scripted_order.py."""
    from apps.agents import registry
    from tests.agents.scripted_order import CALLS, fake_order_cancel, fake_order_status, fake_refund_request, scripted

    spec = registry.SpecialistSpec(
        name="order",
        instructions="test",
        tools=[fake_order_status, fake_order_cancel, fake_refund_request],
        local_behaviour=scripted,
    )
    monkeypatch.setitem(registry.SPECIALISTS, "order", spec)
    route_to("order")
    CALLS.clear()
    return spec
