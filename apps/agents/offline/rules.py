"""Helpers for writing the local model's behaviours as rules.

A behaviour is what the runtime calls `LocalBehaviour`: a deterministic
`(messages, info) -> ModelResponse` that pydantic-ai's `FunctionModel` runs in
place of an LLM. Specialists write theirs as a `RuleEngine`: an ordered list of
rules, each looking at a `TurnView` (the customer's last message, its slots,
the tool results so far, the tools on offer) and either answering or passing.

    def track(view: TurnView) -> ModelResponse | None:
        if not view.has_tool("track_order"):
            return None
        if view.result("track_order") is not None:           # we have the facts: write the reply
            return reply(render_tracking(view.result("track_order")))
        if view.order_number is None:                         # missing: ask, never guess
            return reply("Which order is it? The number looks like TW-100234.")
        return call_tool("track_order", number=view.order_number)

    order_behaviour = RuleEngine([track, ...], fallback=lambda view: reply("How can I help with your order?"))

Guarantees of `RuleEngine`: it never calls a tool the agent does not offer,
never repeats an identical tool call within one customer message (no loops),
and always answers (the fallback). Streaming: `RuleEngine.stream` yields the
same response as text chunks or tool-call deltas, so `FunctionModel(engine,
stream_function=engine.stream)` streams without a second implementation.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

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

from apps.agents.offline import slots

logger = logging.getLogger(__name__)


# --- reading the conversation ----------------------------------------------


@dataclass(frozen=True)
class ToolResult:
    """One tool's answer as the model saw it: `content` is parsed JSON when the tool returned JSON text."""

    tool_name: str
    content: Any
    tool_call_id: str
    outcome: str = "success"

    @property
    def ok(self) -> bool:
        return self.outcome == "success"


@dataclass(frozen=True)
class ToolCall:
    tool_name: str
    args: dict[str, Any]
    tool_call_id: str


def _user_text(part: UserPromptPart) -> str:
    if isinstance(part.content, str):
        return part.content
    return " ".join(item for item in part.content if isinstance(item, str))


def user_texts(messages: Sequence[ModelMessage]) -> list[str]:
    """Every customer message in the history, oldest first."""
    return [
        _user_text(part)
        for message in messages
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, UserPromptPart)
    ]


def last_user_text(messages: Sequence[ModelMessage]) -> str:
    """The newest customer message (the one this turn answers), or ""."""
    texts = user_texts(messages)
    return texts[-1] if texts else ""


def _since_last_user(messages: Sequence[ModelMessage]) -> Sequence[ModelMessage]:
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if isinstance(message, ModelRequest) and any(isinstance(p, UserPromptPart) for p in message.parts):
            return messages[index:]
    return messages


def _parse(content: Any) -> Any:
    if isinstance(content, str):
        try:
            return json.loads(content)
        except ValueError:
            return content
    return content


def tool_results(messages: Sequence[ModelMessage], *, since_user: bool = True) -> list[ToolResult]:
    """Tool answers, oldest first; by default only those since the customer's last message."""
    scope = _since_last_user(messages) if since_user else messages
    return [
        ToolResult(part.tool_name, _parse(part.content), part.tool_call_id, part.outcome)
        for message in scope
        if isinstance(message, ModelRequest)
        for part in message.parts
        if isinstance(part, ToolReturnPart)
    ]


def tool_calls(messages: Sequence[ModelMessage], *, since_user: bool = True) -> list[ToolCall]:
    """Tool calls the model made, oldest first; by default only since the customer's last message."""
    scope = _since_last_user(messages) if since_user else messages
    calls = []
    for message in scope:
        if isinstance(message, ModelResponse):
            for part in message.parts:
                if isinstance(part, ToolCallPart):
                    calls.append(ToolCall(part.tool_name, part.args_as_dict(), part.tool_call_id))
    return calls


def latest_tool_result(messages: Sequence[ModelMessage], tool_name: str, *, since_user: bool = True) -> Any:
    """The content of the newest successful `tool_name` result, or None."""
    for result in reversed(tool_results(messages, since_user=since_user)):
        if result.tool_name == tool_name and result.ok:
            return result.content
    return None


def available_tools(info: AgentInfo) -> frozenset[str]:
    return frozenset(tool.name for tool in info.function_tools)


# --- building responses -----------------------------------------------------


def reply(text: str) -> ModelResponse:
    """A text answer to the customer."""
    return ModelResponse(parts=[TextPart(content=text)])


def call_tool(tool_name: str, /, **args: Any) -> ModelResponse:
    """One tool call."""
    return ModelResponse(parts=[ToolCallPart(tool_name=tool_name, args=args)])


def call_tools(*calls: tuple[str, dict[str, Any]]) -> ModelResponse:
    """Several tool calls in one response (run by pydantic-ai before the next model request)."""
    return ModelResponse(parts=[ToolCallPart(tool_name=name, args=dict(args)) for name, args in calls])


def final_output(info: AgentInfo, data: dict[str, Any]) -> ModelResponse:
    """The structured output of an agent with an `output_type` (calls its output tool), else the data as JSON text."""
    if info.output_tools:
        return ModelResponse(parts=[ToolCallPart(tool_name=info.output_tools[0].name, args=data)])
    return reply(json.dumps(data))


# --- the view rules read ----------------------------------------------------


@dataclass
class TurnView:
    """What a rule needs, computed lazily from the history: the last customer text, its slots, tool results."""

    messages: Sequence[ModelMessage]
    info: AgentInfo
    _extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def text(self) -> str:
        return last_user_text(self.messages)

    @cached_property
    def history_texts(self) -> list[str]:
        """Earlier customer messages, oldest first (not including `text`)."""
        return user_texts(self.messages)[:-1]

    @cached_property
    def tools(self) -> frozenset[str]:
        return available_tools(self.info)

    def has_tool(self, tool_name: str) -> bool:
        return tool_name in self.tools

    @cached_property
    def results(self) -> list[ToolResult]:
        """Tool results since the customer's last message."""
        return tool_results(self.messages)

    @cached_property
    def calls(self) -> list[ToolCall]:
        return tool_calls(self.messages)

    def result(self, tool_name: str, *, since_user: bool = True) -> Any:
        """Newest successful result of `tool_name` (this message only, unless since_user=False)."""
        return latest_tool_result(self.messages, tool_name, since_user=since_user)

    def failed(self, tool_name: str) -> ToolResult | None:
        """The newest failed/retried result of `tool_name` since the customer's message, if any."""
        for result in reversed(self.results):
            if result.tool_name == tool_name and not result.ok:
                return result
        return None

    def called(self, tool_name: str) -> bool:
        return any(call.tool_name == tool_name for call in self.calls)

    # Slots: from the last message first, else from earlier customer messages (newest first),
    # so "TW-100234" given two messages ago is still known.
    def _slot(self, extract: Callable[[str], Any]) -> Any:
        for text in [self.text, *reversed(self.history_texts)]:
            value = extract(text)
            if value is not None:
                return value
        return None

    @cached_property
    def order_number(self) -> str | None:
        return self._slot(slots.extract_order_number)

    @cached_property
    def email(self) -> str | None:
        return self._slot(slots.extract_email)

    @cached_property
    def return_reason(self) -> str | None:
        return self._slot(slots.extract_return_reason)

    @cached_property
    def quantity(self) -> slots.Quantity | None:
        """Only from the last message: a quantity is an answer to the current question."""
        return slots.extract_quantity(self.text)

    @cached_property
    def confirmation(self) -> bool | None:
        return slots.extract_confirmation(self.text)

    def item(self, candidates: Sequence[str]) -> str | None:
        """The one candidate item the customer names (last message first, then earlier ones)."""
        return self._slot(lambda text: slots.match_item(text, candidates))


Rule = Callable[[TurnView], ModelResponse | None]


class RuleEngine:
    """A `LocalBehaviour` made of rules: the first rule that answers wins; `fallback` always answers."""

    def __init__(self, rules: Sequence[Rule], *, fallback: Rule, name: str = "rules") -> None:
        self.rules = list(rules)
        self.fallback = fallback
        self.__name__ = name

    def _acceptable(self, response: ModelResponse, view: TurnView) -> bool:
        made = {(c.tool_name, json.dumps(c.args, sort_keys=True, default=str)) for c in view.calls}
        output_names = {tool.name for tool in view.info.output_tools}
        for part in response.parts:
            if not isinstance(part, ToolCallPart) or part.tool_name in output_names:
                continue
            if part.tool_name not in view.tools:
                logger.warning("rule asked for tool %r which this agent does not offer; skipped", part.tool_name)
                return False
            if (part.tool_name, json.dumps(part.args_as_dict(), sort_keys=True, default=str)) in made:
                logger.warning("rule repeated the call %s(%s); skipped", part.tool_name, part.args)
                return False
        return True

    def __call__(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        view = TurnView(messages, info)
        for rule in self.rules:
            response = rule(view)
            if response is not None and self._acceptable(response, view):
                return response
        response = self.fallback(view)
        if response is None:
            raise RuntimeError(f"{self.__name__}: the fallback rule must always answer")
        return response

    async def stream(self, messages: list[ModelMessage], info: AgentInfo) -> AsyncIterator[str | DeltaToolCalls]:
        """The same answer, streamed: text word by word, or the tool calls as one delta."""
        async for chunk in stream_response(self(messages, info)):
            yield chunk


_CHUNK_RE = re.compile(r"\S+\s*|\s+")


async def stream_response(response: ModelResponse) -> AsyncIterator[str | DeltaToolCalls]:
    """A ModelResponse as FunctionModel stream items (all text, or all tool-call deltas: never mixed)."""
    calls: DeltaToolCalls = {
        index: DeltaToolCall(
            name=part.tool_name,
            json_args=part.args if isinstance(part.args, str) else json.dumps(part.args or {}),
            tool_call_id=part.tool_call_id,
        )
        for index, part in enumerate(p for p in response.parts if isinstance(p, ToolCallPart))
    }
    if calls:
        yield calls
        return
    for part in response.parts:
        if isinstance(part, TextPart):
            for chunk in _CHUNK_RE.findall(part.content):
                yield chunk


def rule_model(engine: RuleEngine, *, model_name: str = "local") -> FunctionModel:
    """A FunctionModel running `engine`, streaming included (the runtime's `local_model` does the same)."""
    return FunctionModel(engine, stream_function=engine.stream, model_name=model_name)
