"""The offline `local` model: a pydantic-ai `FunctionModel` whose behaviour is supplied per agent.

A behaviour is a deterministic function `(messages, info) -> ModelResponse`
(`LocalBehaviour`): it reads the conversation (`messages`, including tool
results) and the tools it may call (`info.function_tools`) and answers with
text or tool calls, exactly as an LLM would. Streaming is derived from it (text
is streamed a sentence at a time), so a behaviour only has to be written once; one that
wants to stream differently may also define `stream(messages, info)`.

Behaviours are registered by name (`register_local_behaviour("router", fn)`)
or carried by a `SpecialistSpec`. Until one is registered, `default_behaviour`
answers honestly: it asks what the customer needs and offers a person.
The turn's `SupportDeps` are available to behaviours through `current_deps()`.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, DeltaToolCall, DeltaToolCalls, FunctionModel

if TYPE_CHECKING:
    from apps.agents.deps import SupportDeps

LOCAL = "local"

_current_deps: ContextVar[SupportDeps | None] = ContextVar("switchboard_current_deps", default=None)


def current_deps() -> SupportDeps | None:
    """The running turn's deps (customer, conversation, trace...), or None outside a turn."""
    return _current_deps.get()


def set_current_deps(deps: SupportDeps | None) -> Token[SupportDeps | None]:
    return _current_deps.set(deps)


def reset_current_deps(token: Token[SupportDeps | None]) -> None:
    _current_deps.reset(token)


@runtime_checkable
class LocalBehaviour(Protocol):
    """How the local model answers for one agent. Must be deterministic and must not touch the database."""

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse: ...


StreamBehaviour = Callable[[list[ModelMessage], AgentInfo], AsyncIterator[str | DeltaToolCalls]]

_BEHAVIOURS: dict[str, LocalBehaviour] = {}


def register_local_behaviour(name: str, behaviour: LocalBehaviour) -> None:
    """Make `behaviour` the local model of agent/role `name` (e.g. "router", "summary", "order")."""
    _BEHAVIOURS[name] = behaviour


def local_behaviour_for(name: str) -> LocalBehaviour:
    return _BEHAVIOURS.get(name, default_behaviour)


# -- helpers for behaviour authors -------------------------------------------
def last_user_text(messages: list[ModelMessage]) -> str:
    """The newest customer text in the conversation (the message this turn answers)."""
    for message in reversed(messages):
        if isinstance(message, ModelRequest):
            for part in reversed(message.parts):
                if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    return part.content
    return ""


def tool_returns_since_user(messages: list[ModelMessage]) -> list[ToolReturnPart]:
    """Tool results the model has received since the customer's last message (oldest first)."""
    returns: list[ToolReturnPart] = []
    for message in reversed(messages):
        if isinstance(message, ModelRequest):
            if any(isinstance(p, UserPromptPart) for p in message.parts):
                break
            returns[:0] = [p for p in message.parts if isinstance(p, ToolReturnPart)]
    return returns


def text_response(text: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(content=text)])


def tool_call_response(*calls: tuple[str, dict[str, object]]) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(tool_name=name, args=args) for name, args in calls])


def final_output(info: AgentInfo, data: dict[str, object]) -> ModelResponse:
    """The structured output of an agent with an `output_type` (calls its output tool), else the data as JSON text."""
    if info.output_tools:
        return ModelResponse(parts=[ToolCallPart(tool_name=info.output_tools[0].name, args=data)])
    return text_response(json.dumps(data))


# -- the default --------------------------------------------------------------
DEFAULT_REPLY = (
    "I want to make sure I help with the right thing. Could you tell me a little more about what you need "
    "(for example your order number and what happened)? If you prefer, I can connect you with a person from our team."
)


def default_behaviour(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """Used before a specialist registers its own: asks for details and offers a human. Never guesses."""
    return text_response(DEFAULT_REPLY)


# -- the model ----------------------------------------------------------------
# A sentence with the whitespace after it, or a run of line breaks, or what is left. The local model has its
# whole answer at once: streamed word by word, each word paid pydantic-ai's per-event machinery and the
# delta path only to wait in the stream guard, which releases whole sentences (apps.guardrails.streaming).
_SENTENCE = re.compile(r"[^\n]*?(?:[.!?][\"')\]]*\s+|\n+)|.+", re.DOTALL)


def _stream_from(behaviour: LocalBehaviour) -> StreamBehaviour:
    async def stream(messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
        response = behaviour(messages, info)
        calls: DeltaToolCalls = {}
        for index, part in enumerate(response.parts):
            if isinstance(part, ToolCallPart):
                args = part.args if isinstance(part.args, str) else json.dumps(part.args or {})
                calls[index] = DeltaToolCall(name=part.tool_name, json_args=args, tool_call_id=part.tool_call_id)
        for part in response.parts:
            if isinstance(part, TextPart) and part.content:
                for chunk in _SENTENCE.findall(part.content):
                    yield chunk
        if calls:
            yield calls

    return stream


def local_model(behaviour: LocalBehaviour, *, name: str = LOCAL) -> FunctionModel:
    """A FunctionModel for `behaviour`, streaming included."""
    stream = getattr(behaviour, "stream", None) or _stream_from(behaviour)
    return FunctionModel(behaviour, stream_function=stream, model_name=name)
