"""The local model run directly (apps.agents.local_run) against the same turn as a pydantic-ai agent run: the same
reply, the same deltas on the socket, the same trace (every span's kind, name, error and data but its timings and
the reply's id)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo

from apps.agents import registry, runner
from apps.agents.local import text_response, tool_call_response
from apps.agents.turns import turn_run
from apps.conversations.models import Conversation, Message
from apps.observability.models import Trace
from tests.agents.scripted_order import CALLS
from tests.fakes.llm_server import text as llm_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_order_specialist")]

_VARYING = {"latency_ms", "stream", "message"}  # timings, and the reply span's message id


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which path each specialist run took."""
    taken: list[str] = []
    direct, agent = runner.local_run, runner._run_chain

    def counted_direct(*args: Any) -> str:
        taken.append("direct")
        return direct(*args)

    async def counted_agent(*args: Any) -> str:
        taken.append("agent")
        return await agent(*args)

    monkeypatch.setattr(runner, "local_run", counted_direct)
    monkeypatch.setattr(runner, "_run_chain", counted_agent)
    return taken


def _untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in _VARYING}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def _turn(say: Any, pushed: list, settings: Any, text: str, *, direct: bool) -> dict[str, Any]:
    settings.SWITCHBOARD_LOCAL_DIRECT_RUN = direct
    CALLS.clear()
    pushed.clear()
    message = say(text)
    turn_run(message_id=message.pk)
    trace = Trace.objects.get(message=message)
    spans = [(s.kind, s.name, s.error, _untimed(s.data)) for s in trace.spans.order_by("position")]
    return {
        "reply": Message.objects.get(in_reply_to=message).text,
        "deltas": [payload["text"] for kind, payload in pushed if kind == "delta"],
        "calls": list(CALLS),
        "trace": (trace.status, trace.error, trace.model_requests, trace.tool_calls, trace.input_tokens),
        "spans": spans,
    }


@pytest.mark.parametrize(
    "text",
    [
        "status TW-1",  # a read tool, then text
        "status TW-404",  # a refused call
        "status TW-500",  # a failing tool
        "cancel TW-1",  # a write held for confirmation
        "refund TW-1",  # an approval tool
        "hello",  # text only
    ],
)
def test_the_direct_run_gives_the_agent_runs_turn(
    text: str, say: Any, pushed: list, settings: Any, runs: list[str]
) -> None:
    # when the same message is answered by both paths (fresh conversations: the same history)
    by_agent = _turn(say, pushed, settings, text, direct=False)
    fresh = Conversation.objects.create(customer=Message.objects.first().conversation.customer)
    by_direct = _turn(lambda t: say(t, fresh), pushed, settings, text, direct=True)

    # then
    assert runs == ["agent", "direct"]
    assert by_direct == by_agent
    assert by_direct["spans"]


def test_the_tool_call_budget_stops_the_direct_run_as_it_stops_an_agent_run(
    say: Any, pushed: list, settings: Any, runs: list[str]
) -> None:
    # given a behaviour that keeps calling tools, two calls allowed
    settings.SWITCHBOARD_TURN_MAX_TOOL_CALLS = 2

    def looping(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return tool_call_response(("fake_order_status", {"number": "TW-1"}))

    registry.SPECIALISTS["order"].local_behaviour = looping
    # when
    by_agent = _turn(say, pushed, settings, "loop", direct=False)
    fresh = Conversation.objects.create(customer=Message.objects.first().conversation.customer)
    by_direct = _turn(lambda t: say(t, fresh), pushed, settings, "loop", direct=True)

    # then: two calls each, the same budget handoff in the trace
    assert runs == ["agent", "direct"]
    assert len(by_direct["calls"]) == 2
    assert by_direct == by_agent


def test_a_provider_in_the_chain_keeps_the_agent_run(say: Any, settings: Any, providers: Any, runs: list[str]) -> None:
    # given a configured provider answering
    providers.push(llm_text("Hi there."))
    registry.SPECIALISTS["order"].local_behaviour = lambda messages, info: text_response("local")

    # when
    message = say("hello")
    turn_run(message_id=message.pk)

    # then
    assert runs == ["agent"]
    assert Message.objects.get(in_reply_to=message).text == "Hi there."
