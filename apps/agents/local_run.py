"""The offline local model's turn run directly, without a pydantic-ai agent run (issue 14).

When a specialist's model chain is the local model alone (no provider configured, or the recovery after a
provider failed), `specialist_run` comes here instead of `Agent.run`: the same loop a pydantic-ai run of
the `FunctionModel` would make, on the worker's own thread. The behaviour gets the messages pydantic-ai
would give it (the history cleaned by pydantic-ai's own `_clean_message_history`, the customer's text, each
response as its stream assembles it, the tool returns with their typed `ToolResult`), the same
`AgentInfo.function_tools`; each tool call is validated by the tool's own schema and run by
`apps.agents.tools.traced_call` (the same span and `ToolResult`, the same confirmation of writes); text
goes out through the same `DeltaPusher` and stream guard; each model request is recorded by the chain's
`ResilientModel` (the same MODEL_CALL span and token estimate); the turn's `UsageLimits` are checked
where a run checks them, with the usage `FunctionModel` would report.

What it saves is the run's machinery: the graph, its events and capabilities, and two thread hops per
tool call and per instructions function (about a fifth of a turn's CPU in `bench/bench_turn_cpu.py`).
A behaviour with its own `stream` keeps the agent run (`direct_run_allowed`).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from pydantic import ValidationError
from pydantic_ai import ModelRetry
from pydantic_ai.exceptions import UnexpectedModelBehavior
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
    _clean_message_history,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.function import AgentInfo, _estimate_string_tokens, _estimate_usage
from pydantic_ai.usage import RequestUsage, RunUsage

from apps.agents.budgets import TurnBudget
from apps.agents.deps import SupportDeps
from apps.agents.local import _SENTENCE, reset_current_deps, set_current_deps
from apps.agents.providers import configured_chain, model_chain
from apps.agents.specialists.base import SpecialistSpec
from apps.agents.streaming import DeltaPusher
from apps.agents.tools import ToolContext, ToolSpec, traced_call

# pydantic-ai's default: a response that is neither text nor tool calls is asked again once.
_OUTPUT_RETRIES = 1

logger = logging.getLogger(__name__)


class TurnTimedOut(Exception):
    """The turn's time budget ran out between two steps of the run."""


def direct_run_allowed(spec: SpecialistSpec, names: list[str] | None) -> bool:
    """The chain is the local model alone and its behaviour streams the way `local_model` derives it."""
    chain = names if names is not None else configured_chain(spec.role)
    return chain == ["local"] and getattr(spec.local_behaviour, "stream", None) is None


_TOOLS: dict[int, tuple[SpecialistSpec, tuple[ToolSpec, ...], dict[str, tuple[ToolSpec, Any]], AgentInfo]] = {}


def _agent_tools(spec: SpecialistSpec) -> tuple[dict[str, tuple[ToolSpec, Any]], AgentInfo]:
    """The spec's tools by name with their pydantic-ai `Tool` (schema and validator), and the `AgentInfo`
    its agent run would give the behaviour; built once per process (again if the spec's tools change)."""
    tools = tuple(spec.tools)
    cached = _TOOLS.get(id(spec))
    if cached is not None and cached[0] is spec and cached[1] == tools:
        return cached[2], cached[3]
    by_name = {tool.name: (tool, tool.as_tool()) for tool in tools}
    definitions = [pair[1].tool_def for pair in by_name.values()]
    info = AgentInfo(
        function_tools=definitions,
        allow_text_output=True,
        output_tools=[],
        model_settings=None,
        model_request_parameters=ModelRequestParameters(function_tools=definitions, allow_text_output=True),
        instructions=None,
    )
    _TOOLS[id(spec)] = (spec, tools, by_name, info)
    return by_name, info


def local_run(deps: SupportDeps, spec: SpecialistSpec, text: str, history: list[Any], stream_guard: Any) -> str:
    """The specialist's answer from the local model, as `runner._run_chain` would produce it with an agent run.

    Raises `UsageLimitExceeded` or `TurnTimedOut` when the turn's budget runs out (the caller reports both as
    `TurnBudgetExhausted`)."""
    tools, info = _agent_tools(spec)
    behaviour = spec.local_behaviour
    recorder = model_chain(spec.role, behaviour, names=["local"])  # records each request as the agent run does
    budget = deps.budget or TurnBudget.from_settings()
    limits = budget.usage_limits()
    usage = RunUsage()
    deltas = DeltaPusher(
        deps.conversation, reply_to=deps.message.pk if deps.message is not None else None, guard=stream_guard
    )
    messages: list[ModelMessage] = [*_clean_message_history(list(history)), ModelRequest(parts=[UserPromptPart(text)])]
    retries: dict[str, int] = {}
    token = set_current_deps(deps)
    try:
        while True:
            _check_time(budget)
            limits.check_before_request(usage)
            sent = _clean_message_history(list(messages))
            started = time.perf_counter()
            response, request_usage = _streamed(behaviour(sent, info))
            for part in response.parts:
                if isinstance(part, TextPart):
                    for chunk in _SENTENCE.findall(part.content):
                        deltas.add_now(chunk)
            deltas.end_of_stream_now()
            recorder._record(messages=sent, response=response, started=started, retries=[], streamed=True)
            usage.requests += 1
            usage.incr(request_usage)
            limits.check_tokens(usage)
            messages.append(response)
            calls = [part for part in response.parts if isinstance(part, ToolCallPart)]
            if not calls:
                deltas.end_of_stream_now()
                output = "".join(part.content for part in response.parts if isinstance(part, TextPart))
                if output:
                    return output
                messages.append(ModelRequest(parts=[_retry("output", "Please return text or call a tool.", retries)]))
                continue
            if limits.tool_calls_limit is not None:
                limits.check_before_tool_call(RunUsage(tool_calls=usage.tool_calls + len(calls)))
            _check_time(budget)
            _prefetch(tools, calls)
            asked_in = (id(messages), usage.requests)  # this response: writes it asks for wait together
            returns = [_call(tools, call, deps, retries, usage, asked_in) for call in calls]
            deltas.end_of_stream_now()
            messages.append(ModelRequest(parts=returns))
    finally:
        reset_current_deps(token)
        if deltas.first_text_at is not None and "stream" not in deps.facts:
            deps.facts["stream"] = deltas.stamps()


def _prefetch(tools: dict[str, tuple[ToolSpec, Any]], calls: list[ToolCallPart]) -> None:
    """Let each tool called more than once in this response warm what its calls will read, together
    (`ToolSpec.prefetch`). Never raises: each call reads what it misses on its own."""
    by_tool: dict[str, list[dict[str, Any]]] = {}
    for call in calls:
        found = tools.get(call.tool_name)
        if found is not None and found[0].prefetch is not None:
            arguments = _arguments_or_none(call)
            if arguments is not None:  # malformed arguments: the call itself reports them to the model
                by_tool.setdefault(call.tool_name, []).append(arguments)
    for name, arguments in by_tool.items():
        if len(arguments) > 1:
            try:
                tools[name][0].prefetch(arguments)
            except Exception:
                logger.warning("prefetch for %s failed; each call reads its own", name, exc_info=True)


def _arguments_or_none(call: ToolCallPart) -> dict[str, Any] | None:
    try:
        arguments = call.args_as_dict()
    except (ValueError, AssertionError):
        return None
    return arguments if isinstance(arguments, dict) else None


def _check_time(budget: TurnBudget) -> None:
    seconds = budget.seconds_left()
    if seconds is not None and seconds <= 0:
        raise TurnTimedOut(f"turn took longer than {budget.max_seconds}s")


def _streamed(response: ModelResponse) -> tuple[ModelResponse, RequestUsage]:
    """`response` as the local model's stream (`apps.agents.local._stream_from`) reaches the run: its text in one
    part, then its tool calls with their arguments as JSON; and the usage `FunctionModel` estimates for it."""
    text = "".join(part.content for part in response.parts if isinstance(part, TextPart) and part.content)
    parts: list[Any] = [TextPart(content=text)] if text else []
    request_usage = _estimate_usage([])
    request_usage.output_tokens += sum(_estimate_string_tokens(chunk) for chunk in _SENTENCE.findall(text))
    for part in response.parts:
        if isinstance(part, ToolCallPart):
            args = part.args if isinstance(part.args, str) else json.dumps(part.args or {})
            parts.append(ToolCallPart(tool_name=part.tool_name, args=args, tool_call_id=part.tool_call_id))
            request_usage.output_tokens += _estimate_string_tokens(args)
    return ModelResponse(parts=parts, model_name="local"), request_usage


def _call(
    tools: dict[str, tuple[ToolSpec, Any]],
    call: ToolCallPart,
    deps: SupportDeps,
    retries: dict[str, int],
    usage: RunUsage,
    asked_in: tuple[int, int] | None = None,
) -> ToolReturnPart | RetryPromptPart:
    found = tools.get(call.tool_name)
    if found is None:
        known = ", ".join(repr(name) for name in tools)
        message = f"Unknown tool name: {call.tool_name!r}. Available tools: {known}"
        return _retry(call.tool_name, message, retries, call=call, max_retries=_OUTPUT_RETRIES)
    spec, tool = found
    try:
        kwargs = tool.function_schema.validator.validate_json(call.args_as_json_str() or "{}")
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False)
        return _retry(call.tool_name, errors, retries, call=call, max_retries=spec.max_retries)
    usage.tool_calls += 1
    try:
        result = traced_call(spec, deps, ToolContext(deps=deps, response=asked_in), dict(kwargs))
    except ModelRetry as exc:
        return _retry(call.tool_name, exc.message, retries, call=call, max_retries=spec.max_retries)
    return ToolReturnPart(
        tool_name=call.tool_name, content=result.for_model(), tool_call_id=call.tool_call_id, metadata=result
    )


def _retry(
    name: str,
    content: Any,
    retries: dict[str, int],
    *,
    call: ToolCallPart | None = None,
    max_retries: int = _OUTPUT_RETRIES,
) -> RetryPromptPart:
    """Ask the model again, as a run does, until `name` has been retried more than `max_retries` times."""
    retries[name] = retries.get(name, 0) + 1
    if retries[name] > max_retries:
        what = f"Tool {name!r}" if call is not None else "Output validation"
        raise UnexpectedModelBehavior(f"{what} exceeded max retries count of {max_retries}")
    if call is None:
        return RetryPromptPart(content=content)
    return RetryPromptPart(tool_name=call.tool_name, content=content, tool_call_id=call.tool_call_id)
