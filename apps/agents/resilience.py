"""Model calls that survive providers: bounded retries, timeouts, breakers, fallback.

`ResilientModel` wraps one concrete model (OpenAI, Anthropic or local). Per
call it: asks the provider's circuit breaker, sends the request under a
per-call timeout, retries transient failures (429, 5xx, connection errors,
timeouts) with exponential backoff and jitter, honouring `Retry-After` (one
tenacity loop, `ResilientModel._attempts`, for requests and streams), and
records one `model_call` span with the model, provider, tokens, cost, latency,
retries and whether a fallback answered. The SDKs' own retries are off
(`max_retries=0` on the clients), so these are the only retries and they are
visible in the trace.

`apps.agents.providers.model_chain(role, behaviour)` builds a role's chain of them.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
from django.conf import settings
from pydantic_ai._utils import PeekableAsyncStream
from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelConnectionError,
    ModelRateLimitError,
    ModelRequestTimeout,
    ModelServerError,
    ModelUnavailableError,
)
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import Model, ModelRequestParameters, StreamedResponse
from pydantic_ai.models.wrapper import WrapperModel
from pydantic_ai.settings import ModelSettings
from tenacity import AsyncRetrying, RetryCallState

from apps.agents import accounting
from apps.agents.breaker import CircuitBreaker
from apps.agents.local import current_deps
from apps.observability.models import SpanKind

logger = logging.getLogger(__name__)

# Failures worth another attempt (and that count against a provider's breaker).
TRANSIENT = (ModelRateLimitError, ModelUnavailableError, ModelServerError, ModelConnectionError, ModelRequestTimeout)

Sleeper = Callable[[float], Awaitable[None]]


async def _default_sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


# Tests replace this (monkeypatch `apps.agents.resilience.sleep`) to record waits instead of waiting.
sleep: Sleeper = _default_sleep


class CircuitOpenError(ModelAPIError):
    """The provider's breaker is open: skip it (the fallback chain moves on)."""

    def __init__(self, model_name: str, provider: str) -> None:
        super().__init__(model_name, f"circuit breaker for {provider} is open")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    base_delay: float
    max_delay: float
    rng: random.Random = field(default_factory=random.Random, compare=False)

    @classmethod
    def from_settings(cls) -> RetryPolicy:
        return cls(
            max_retries=settings.SWITCHBOARD_MODEL_MAX_RETRIES,
            base_delay=settings.SWITCHBOARD_RETRY_BASE_DELAY,
            max_delay=settings.SWITCHBOARD_RETRY_MAX_DELAY,
        )

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before retry number `attempt + 1`, or None to give up on this model now.

        The provider's `Retry-After` wins (plus up to 10% jitter so workers do not
        return in lockstep); when it asks for longer than `max_delay` we fall back
        instead of holding the customer. Otherwise exponential backoff with
        "equal jitter": half the step fixed, half random.
        """
        if retry_after is not None:
            if retry_after > self.max_delay:
                return None
            return max(0.0, retry_after) * (1 + self.rng.uniform(0, 0.1))
        step = min(self.max_delay, self.base_delay * (2**attempt))
        return step / 2 + self.rng.uniform(0, step / 2)


def _text_of(messages: list[ModelMessage]) -> str:
    chunks: list[str] = []
    for message in messages:
        for part in message.parts:
            if isinstance(part, (SystemPromptPart, UserPromptPart)) and isinstance(part.content, str):
                chunks.append(part.content)
            elif isinstance(part, ToolReturnPart):
                chunks.append(part.model_response_str())
            elif isinstance(part, TextPart):
                chunks.append(part.content)
            elif isinstance(part, ToolCallPart):
                chunks.append(part.tool_name + part.args_as_json_str())
    return "\n".join(chunks)


class ResilientModel(WrapperModel):
    """One model of a fallback chain with retries, timeout, breaker and tracing."""

    def __init__(
        self,
        wrapped: Model,
        *,
        configured_name: str,
        provider: str,
        position: int,
        timeout: float,
        policy: RetryPolicy,
        breaker: CircuitBreaker | None,
        client: Any = None,
        role: str = "",
    ) -> None:
        super().__init__(wrapped)
        self.client = client
        self.role = role
        self._holders = 0
        self.configured_name = configured_name
        self.provider_key = provider
        self.position = position
        self.timeout = timeout
        self.policy = policy
        self.breaker = breaker

    # The SDK client is ours (the provider did not create it) and its connections belong to the
    # event loop of the run using it: it is closed when the last holder lets go, whether that is
    # `async with model` or an agent run (which holds `_run_scope`, not the model's context).
    # A chain is therefore built per run.
    async def __aenter__(self) -> ResilientModel:
        await super().__aenter__()
        self._holders += 1
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        try:
            return await super().__aexit__(*exc_info)
        finally:
            await self._release()

    @asynccontextmanager
    async def _run_scope(self) -> AsyncGenerator[None]:
        self._holders += 1
        try:
            async with self.wrapped._run_scope():
                yield
        finally:
            await self._release()

    async def _release(self) -> None:
        self._holders -= 1
        if self._holders == 0 and self.client is not None:
            await self.client.close()

    @property
    def is_local(self) -> bool:
        return self.provider_key == "local"

    # -- accounting ---------------------------------------------------------
    def _record(
        self,
        *,
        messages: list[ModelMessage],
        response: ModelResponse | None,
        started: float,
        retries: list[dict[str, Any]],
        error: str = "",
        streamed: bool,
    ) -> None:
        deps = current_deps()
        input_tokens = output_tokens = 0
        if response is not None:
            if self.is_local:
                input_tokens = accounting.count_tokens(_text_of([m for m in messages if isinstance(m, ModelRequest)]))
                output_tokens = accounting.count_tokens(_text_of([response]))
            else:
                input_tokens = response.usage.input_tokens or 0
                output_tokens = response.usage.output_tokens or 0
        cost = accounting.cost_of(model=self.configured_name, input_tokens=input_tokens, output_tokens=output_tokens)
        if deps is None:
            return
        deps.trace.add(
            SpanKind.MODEL_CALL,
            self.configured_name,
            latency_ms=(time.perf_counter() - started) * 1000,
            error=error,
            model=self.configured_name,
            role=self.role,
            provider=self.provider_key,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost=str(cost),
            retries=len(retries),
            attempts=retries,
            fallback_used=self.position > 0,
            position=self.position,
            streamed=streamed,
            usage_source="estimate" if self.is_local else "provider",
        )

    # -- the retry loop -------------------------------------------------------
    def _check_breaker(self) -> None:
        if self.breaker is not None and not self.breaker.allow():
            raise CircuitOpenError(self.configured_name, self.provider_key)

    def _failed(self, exc: BaseException) -> None:
        if self.breaker is not None and isinstance(exc, TRANSIENT):
            self.breaker.record_failure()

    def _succeeded(self) -> None:
        if self.breaker is not None:
            self.breaker.record_success()

    def _attempts(self, retries: list[dict[str, Any]]) -> AsyncRetrying:
        """The one retry loop of both request paths (tenacity): an attempt per iteration, each recorded.

        After a failed attempt `_should_retry` records it in `retries` (the span's `attempts`),
        counts it against the breaker, and allows another only for a transient failure within
        `max_retries` whose wait (`RetryPolicy.delay`) is allowed; the wait goes through the
        module's `sleep` (tests record it). Anything else is re-raised as it was.
        """
        delays: list[float] = []

        def should_retry(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome is not None else None
            if not isinstance(exc, ModelAPIError) or isinstance(exc, CircuitOpenError):
                return False
            self._failed(exc)
            attempt = state.attempt_number - 1
            entry = {
                "attempt": attempt + 1,
                "error": f"{type(exc).__name__}: {exc}"[:300],
                "retry_after": exc.retry_after,
            }
            retries.append(entry)
            if not isinstance(exc, TRANSIENT) or attempt >= self.policy.max_retries:
                return False
            delay = self.policy.delay(attempt, exc.retry_after)
            if delay is None:
                entry["gave_up"] = "retry-after longer than SWITCHBOARD_RETRY_MAX_DELAY"
                return False
            entry["slept"] = round(delay, 4)
            delays.append(delay)
            return True

        return AsyncRetrying(
            retry=should_retry,
            wait=lambda state: delays[-1],
            sleep=lambda seconds: sleep(seconds),
            reraise=True,
        )

    def _timeout_error(self) -> ModelRequestTimeout:
        return ModelRequestTimeout(self.configured_name, self.timeout)

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        started = time.perf_counter()
        retries: list[dict[str, Any]] = []
        try:
            async for attempt in self._attempts(retries):
                with attempt:
                    self._check_breaker()
                    try:
                        with anyio.fail_after(self.timeout):
                            response = await self.wrapped.request(messages, model_settings, model_request_parameters)
                    except TimeoutError:
                        raise self._timeout_error() from None
        except ModelAPIError as exc:
            self._record(
                messages=messages, response=None, started=started, retries=retries, error=str(exc)[:300], streamed=False
            )
            raise
        self._succeeded()
        self._record(messages=messages, response=response, started=started, retries=retries, streamed=False)
        return response

    async def _open_stream(
        self,
        stack: AsyncExitStack,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: Any,
    ) -> StreamedResponse:
        try:
            with anyio.fail_after(self.timeout):
                response = await stack.enter_async_context(
                    self.wrapped.request_stream(messages, model_settings, model_request_parameters, run_context)
                )
                # Wait for the first event here, so a stream that fails before producing
                # anything is retried (or falls back) before the customer saw a word.
                events = PeekableAsyncStream(aiter(response))
                await events.peek()
                response._event_iterator = events  # type: ignore[attr-defined]
                return response
        except TimeoutError:
            raise self._timeout_error() from None

    @asynccontextmanager
    async def request_stream(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
        run_context: Any = None,
    ) -> AsyncGenerator[StreamedResponse]:
        started = time.perf_counter()
        retries: list[dict[str, Any]] = []
        stack = AsyncExitStack()
        try:
            async for attempt in self._attempts(retries):
                with attempt:
                    self._check_breaker()
                    stack = AsyncExitStack()
                    try:
                        response = await self._open_stream(
                            stack, messages, model_settings, model_request_parameters, run_context
                        )
                    except BaseException:
                        await stack.aclose()
                        raise
        except ModelAPIError as exc:
            self._record(
                messages=messages, response=None, started=started, retries=retries, error=str(exc)[:300], streamed=True
            )
            raise
        async with stack:
            try:
                yield response
            except BaseException as exc:
                # The stream broke after it started (cut connection, malformed chunk): the
                # customer may have seen part of it, so no silent retry here; the turn decides.
                self._failed(exc)
                partial = response.get()
                self._record(
                    messages=messages,
                    response=partial,
                    started=started,
                    retries=retries,
                    error=f"{type(exc).__name__}: {exc}"[:300],
                    streamed=True,
                )
                raise
        self._succeeded()
        self._record(messages=messages, response=response.get(), started=started, retries=retries, streamed=True)
