"""Declaring tools: every tool gets `SupportDeps` and a class (`read`, `write`, `approval`).

    from pydantic_ai import RunContext
    from apps.agents.deps import SupportDeps
    from apps.agents.tools import read_tool, write_tool, approval_tool

    @read_tool
    def order_list(ctx: RunContext[SupportDeps], limit: int = 5) -> list[dict]:
        "List the customer's recent orders."
        return selectors.order_list_for_customer(customer=ctx.deps.customer, limit=limit)

    @write_tool(summary=lambda args, deps: f"cancel order {args['number']}")
    def order_cancel(ctx: RunContext[SupportDeps], number: str) -> str:
        "Cancel a pending order (the customer must confirm)."
        ...

A decorator returns the tool's `ToolSpec`; there is no global registry. Each
specialist package lists its tools (`specialists/<route>/tools.py: TOOLS`) and the
runtime gives its agent one pydantic-ai toolset built from them (`specialist_toolset`).

Implementations are plain (sync) functions: they run on the worker's main
thread through `sync_to_async(thread_sensitive=True)`, so the ORM works as
anywhere else in Django. They must use only `ctx.deps` from the context: a
`write` tool runs for real on a later turn, with a context that carries the
deps and nothing else.

- `read`: runs when the model calls it.
- `write`: when the model calls it, the arguments are validated, `precheck`
  (optional) may refuse, and a `PendingAction` is stored with a plain summary;
  the model is told the action awaits the customer's confirmation. It runs only
  if the customer's next message says yes (`apps.agents.pending`).
- `approval`: runs when called; its implementation must only create an approval
  request (staff decide); the class marks it so in the trace and the registry.

Every call is traced (name, arguments, result summary, latency, error). An
`ApplicationError` becomes a clear tool result for the model; any other error is
reported to Sentry and the model gets a generic failure result.
"""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from asgiref.sync import sync_to_async
from pydantic_ai import FunctionToolset, ModelRetry, RunContext, Tool, ToolReturn

from apps.agents.deps import SupportDeps
from apps.agents.pending_requests import pending_action_request
from apps.agents.tool_results import AWAITING_CONFIRMATION, GENERIC_FAILURE, ToolResult
from apps.core.errors import ApplicationError
from apps.observability.errors import capture_exception
from apps.observability.models import SpanKind
from apps.observability.recorder import summarize


class ToolClass(StrEnum):
    READ = "read"
    WRITE = "write"
    APPROVAL = "approval"


@dataclass
class ToolContext:
    """What a tool implementation receives when it runs outside a model run (a confirmed `write`)."""

    deps: SupportDeps
    # which model response asked for the call (the local run's own loop): writes asked for in one response wait together
    response: tuple[int, int] | None = None


@dataclass
class ToolSpec:
    name: str
    function: Callable[..., Any]
    tool_class: ToolClass
    description: str = ""
    # write tools: the plain-language summary the customer confirms, from the validated arguments.
    summary: Callable[[dict[str, Any], SupportDeps], str] | None = None
    # write tools: may raise ApplicationError to refuse before asking for confirmation.
    precheck: Callable[..., Any] | None = None
    # write tools: the customer-facing text after the confirmed action ran.
    done_message: Callable[[Any, dict[str, Any]], str] | None = None
    # write tools: the verbs a customer may restate in a yes ("yes, cancel it" confirms cancel_order).
    confirm_verbs: tuple[str, ...] = ()
    # write tools: more verbs from the arguments, what this call's outcome is called ("refund" for a return that
    # refunds, not for an exchange): "refund please, yes go ahead" confirms that call only.
    outcome_verbs: Callable[[dict[str, Any]], tuple[str, ...]] | None = None
    max_retries: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    # Given the arguments of every call to this tool in one model response, before any of them runs: warm what
    # they will read together (the help center's query vectors in one encode instead of one per call). Never
    # required for an answer: a call finds its data either way.
    prefetch: Callable[[list[dict[str, Any]]], None] | None = None

    def as_tool(self) -> Tool[SupportDeps]:
        """The pydantic-ai `Tool` the agent is given (schema from the implementation's signature)."""
        return Tool(
            _traced_entry(self),
            takes_ctx=True,
            name=self.name,
            description=self.description or None,
            max_retries=self.max_retries,
            metadata={"tool_class": str(self.tool_class)},
        )

    def run(self, ctx: Any, arguments: dict[str, Any]) -> Any:
        """Call the real implementation (sync), e.g. for a confirmed write."""
        return self.function(ctx, **arguments)


def specialist_toolset(name: str, specs: Sequence[ToolSpec]) -> FunctionToolset[SupportDeps]:
    """A specialist's pydantic-ai toolset: one traced `Tool` per spec (two tools with one name are an error)."""
    return FunctionToolset([spec.as_tool() for spec in specs], id=name)


@functools.cache
def _signature(function: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(function)


def _arguments(function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    bound = _signature(function).bind(None, *args, **kwargs)
    bound.apply_defaults()
    return {k: v for k, v in list(bound.arguments.items())[1:]}


def _jsonable_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    return json.loads(json.dumps(arguments, cls=DjangoJSONEncoder))


def traced_call(spec: ToolSpec, deps: SupportDeps, ctx: Any, kwargs: dict[str, Any]) -> ToolResult:
    """Run one call of `spec` with the model's (validated) arguments, on the calling thread, and trace it.

    What the model is given is the result's `for_model()`; `ModelRetry` is re-raised (the run asks the model again).
    The agent's tool entry (`_traced_entry`) and the local model's direct run (`apps.agents.local_run`) both call this.
    """
    function = spec.function
    arguments = _jsonable_arguments(_arguments(function, (), kwargs))
    started = time.perf_counter()
    error = ""
    result: ToolResult | None = None
    try:
        if spec.tool_class == ToolClass.WRITE:
            result = ToolResult.awaiting(spec.name, _request_write(spec, ctx, arguments))
        else:
            result = ToolResult.ok(spec.name, function(ctx, **kwargs))
    except ModelRetry:
        error = "model retry requested"
        raise
    except ApplicationError as exc:
        error = f"{exc.code}: {exc.message}"
        result = ToolResult.refused(spec.name, exc.code, exc.message, exc.extra or None)
    except Exception as exc:  # noqa: BLE001 -- reported to Sentry, customer gets a plain message
        error = f"{type(exc).__name__}: {summarize(str(exc), 300)}"
        capture_exception(exc, tool=spec.name, conversation=getattr(deps.conversation, "pk", None))
        deps.facts["tool_failure"] = spec.name
        result = ToolResult.failed(spec.name)
    finally:
        deps.trace.add(
            SpanKind.TOOL_CALL,
            spec.name,
            latency_ms=(time.perf_counter() - started) * 1000,
            error=error,
            tool=spec.name,
            tool_class=str(spec.tool_class),
            arguments=arguments,
            result=summarize(result.for_model() if result is not None else ""),
        )
    return result


def _traced_entry(spec: ToolSpec) -> Callable[..., Any]:
    function = spec.function

    @functools.wraps(function)
    async def entry(ctx: RunContext[SupportDeps], *args: Any, **kwargs: Any) -> ToolReturn:
        kwargs = _arguments(function, args, kwargs)
        result = await sync_to_async(traced_call, thread_sensitive=True)(spec, ctx.deps, ctx, kwargs)
        # The model gets the one serialisation; the local model reads the typed result from the metadata.
        return ToolReturn(return_value=result.for_model(), metadata=result)

    return entry


def _request_write(spec: ToolSpec, ctx: Any, arguments: dict[str, Any]) -> str:
    if spec.precheck is not None:
        spec.precheck(ctx, **arguments)
    summary = spec.summary(arguments, ctx.deps) if spec.summary else f"{spec.name}({arguments})"
    # Writes the model asks for in one response ("cancel both": two calls side by side) wait together for one yes; a
    # write asked for in a later response supersedes the one before, as always.
    step = getattr(ctx, "response", None) or (getattr(ctx, "run_id", None), getattr(ctx, "run_step", None))
    together = step[1] is not None and ctx.deps.facts.get(_HELD_AT_STEP) == step
    pending_action_request(deps=ctx.deps, tool_name=spec.name, arguments=arguments, summary=summary, together=together)
    ctx.deps.facts[_HELD_AT_STEP] = step
    return summary


# deps.facts key: the run and run step (model response) of the last write held in this turn.
_HELD_AT_STEP = "held_write_at_step"


def _declare(tool_class: ToolClass, function: Callable[..., Any], **options: Any) -> ToolSpec:
    name = options.pop("name", None) or function.__name__
    description = options.pop("description", None) or inspect.getdoc(function) or ""
    return ToolSpec(name=name, function=function, tool_class=tool_class, description=description, **options)


def read_tool(function: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Declare a read-only tool. Usable bare (`@read_tool`) or with options (`@read_tool(name=...)`)."""
    if function is None:
        return lambda f: _declare(ToolClass.READ, f, **options)
    return _declare(ToolClass.READ, function, **options)


def write_tool(
    function: Callable[..., Any] | None = None,
    *,
    summary: Callable[[dict[str, Any], SupportDeps], str],
    precheck: Callable[..., Any] | None = None,
    done_message: Callable[[Any, dict[str, Any]], str] | None = None,
    confirm_verbs: tuple[str, ...] = (),
    outcome_verbs: Callable[[dict[str, Any]], tuple[str, ...]] | None = None,
    **options: Any,
) -> Any:
    """Declare a tool that changes something: it runs only after the customer confirms on their next message.

    `confirm_verbs`: the verbs of this action a customer may restate in their yes ("yes, cancel it");
    `outcome_verbs`: more of them from a call's arguments (its outcome: "refund" for a return that refunds).
    """

    def declare(f: Callable[..., Any]) -> ToolSpec:
        return _declare(
            ToolClass.WRITE,
            f,
            summary=summary,
            precheck=precheck,
            done_message=done_message,
            confirm_verbs=confirm_verbs,
            outcome_verbs=outcome_verbs,
            **options,
        )

    return declare if function is None else declare(function)


def approval_tool(function: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Declare a tool whose only effect is creating an approval request for staff."""
    if function is None:
        return lambda f: _declare(ToolClass.APPROVAL, f, **options)
    return _declare(ToolClass.APPROVAL, function, **options)


__all__ = [
    "AWAITING_CONFIRMATION",
    "GENERIC_FAILURE",
    "ToolClass",
    "ToolContext",
    "ToolSpec",
    "approval_tool",
    "read_tool",
    "specialist_toolset",
    "write_tool",
]
