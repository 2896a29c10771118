from __future__ import annotations

import socket
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from pydantic_ai import Agent

from apps.agents.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, redis_client
from apps.agents.local import DEFAULT_REPLY, default_behaviour, reset_current_deps, set_current_deps
from apps.agents.providers import configured_chain, model_chain
from apps.agents.resilience import RetryPolicy
from apps.observability.recorder import TraceRecorder
from tests.conftest import NetworkAccessError
from tests.fakes.llm_server import error, hang, text

pytestmark = pytest.mark.django_db


class _Deps:
    def __init__(self) -> None:
        self.trace = TraceRecorder()


def _ask(prompt: str = "hi", *, stream: bool = False) -> tuple[str, TraceRecorder]:
    deps = _Deps()

    async def run() -> str:
        model = model_chain("agent", default_behaviour)
        token = set_current_deps(deps)  # type: ignore[arg-type]
        try:
            async with model:
                if stream:

                    async def handler(ctx: Any, events: Any) -> None:
                        async for _ in events:
                            pass

                    result = await Agent(model).run(prompt, event_stream_handler=handler)
                else:
                    result = await Agent(model).run(prompt)
        finally:
            reset_current_deps(token)
        return str(result.output)

    return async_to_sync(run)(), deps.trace


def _model_spans(trace: TraceRecorder) -> list[dict[str, Any]]:
    return [{"name": s.name, "error": s.error, **s.data} for s in trace.spans if s.kind == "model_call"]


def test_no_key_means_everything_is_local(settings: Any) -> None:
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = settings.ANTHROPIC_API_KEY = ""
    settings.SWITCHBOARD_AGENT_MODEL = "openai:gpt-4.1-mini"
    settings.SWITCHBOARD_AGENT_FALLBACKS = ["anthropic:claude-sonnet-4-5"]
    assert configured_chain("agent") == ["local"]


def test_chain_always_ends_in_local(providers: Any, settings: Any) -> None:
    settings.SWITCHBOARD_AGENT_FALLBACKS = ["anthropic:claude-sonnet-4-5", "local", "openai:gpt-4.1"]
    assert configured_chain("agent") == ["openai:gpt-4.1-mini", "anthropic:claude-sonnet-4-5", "local"]


@pytest.mark.parametrize("stream", [False, True])
def test_429_is_retried_after_the_providers_retry_after(providers: Any, sleeps: list[float], stream: bool) -> None:
    # given
    providers.push(error(429, retry_after=2), text("Hello from OpenAI"))
    # when
    output, trace = _ask(stream=stream)
    # then
    assert output == "Hello from OpenAI"
    assert [r.api for r in providers.requests] == ["openai", "openai"]
    assert len(sleeps) == 1
    assert 2.0 <= sleeps[0] <= 2.2
    (span,) = _model_spans(trace)
    assert span["name"] == "openai:gpt-4.1-mini"
    assert span["retries"] == 1
    assert span["attempts"][0]["retry_after"] == 2.0
    assert span["fallback_used"] is False


def test_the_sdks_do_not_retry_on_their_own(providers: Any, sleeps: list[float], settings: Any) -> None:
    # given: our retries off, so one failure must mean exactly one request
    settings.SWITCHBOARD_MODEL_MAX_RETRIES = 0
    settings.SWITCHBOARD_AGENT_FALLBACKS = []
    providers.push(error(503))
    # when
    output, _ = _ask()
    # then
    assert output == DEFAULT_REPLY
    assert len(providers.requests) == 1


def test_server_errors_back_off_exponentially_with_jitter(providers: Any, sleeps: list[float]) -> None:
    # given
    providers.push(error(500), error(503), text("third time lucky"))
    # when
    output, trace = _ask()
    # then
    assert output == "third time lucky"
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0
    assert _model_spans(trace)[0]["retries"] == 2


def test_backoff_policy_caps_and_gives_up_on_long_retry_after() -> None:
    policy = RetryPolicy(max_retries=5, base_delay=1.0, max_delay=4.0)
    assert all(2.0 <= policy.delay(attempt, None) <= 4.0 for attempt in (2, 3, 4))
    assert policy.delay(0, 60.0) is None


def test_retry_after_longer_than_allowed_falls_back_to_next_model(providers: Any, sleeps: list[float]) -> None:
    # given
    providers.push(error(429, retry_after=600), text("Hello from Claude"))
    # when
    output, trace = _ask()
    # then
    assert output == "Hello from Claude"
    assert sleeps == []
    assert [r.api for r in providers.requests] == ["openai", "anthropic"]
    spans = _model_spans(trace)
    assert [(s["name"], s["fallback_used"], bool(s["error"])) for s in spans] == [
        ("openai:gpt-4.1-mini", False, True),
        ("anthropic:claude-sonnet-4-5", True, False),
    ]


def test_every_provider_failing_falls_back_to_local(providers: Any, sleeps: list[float], settings: Any) -> None:
    # given
    settings.SWITCHBOARD_MODEL_MAX_RETRIES = 1
    providers.push(error(500), error(500), error(500), error(500))
    # when
    output, trace = _ask(stream=True)
    # then
    assert output == DEFAULT_REPLY
    assert [r.api for r in providers.requests] == ["openai", "openai", "anthropic", "anthropic"]
    spans = _model_spans(trace)
    assert [s["name"] for s in spans] == ["openai:gpt-4.1-mini", "anthropic:claude-sonnet-4-5", "local"]
    assert spans[-1]["fallback_used"] is True
    assert spans[-1]["cost"] == "0"
    assert spans[-1]["usage_source"] == "estimate"
    assert spans[-1]["output_tokens"] > 0


def test_a_hanging_provider_times_out_and_is_retried(providers: Any, sleeps: list[float], settings: Any) -> None:
    # given
    settings.SWITCHBOARD_MODEL_TIMEOUT = 0.3
    providers.push(hang(5), text("after the hang"))
    # when
    output, trace = _ask()
    # then
    assert output == "after the hang"
    span = _model_spans(trace)[0]
    assert span["retries"] == 1
    assert "Timeout" in span["attempts"][0]["error"]


def test_breaker_opens_then_half_open_probe_closes_it() -> None:
    # given
    now = [1000.0]
    breaker = CircuitBreaker(
        provider="openai",
        failure_threshold=3,
        window_seconds=60,
        cooldown_seconds=30,
        probe_ttl_seconds=10,
        clock=lambda: now[0],
    )
    state_key = "switchboard:breaker:openai:state"
    # when: three failures inside the window
    for _ in range(3):
        assert breaker.allow() is True
        breaker.record_failure()
    # then
    assert redis_client().get(state_key) == b"open"
    assert breaker.allow() is False
    # when: the cool-down passes, exactly one probe is let through
    now[0] += 31
    assert breaker.allow() is True
    assert breaker.state() == HALF_OPEN
    assert breaker.allow() is False
    # a failed probe re-opens it
    breaker.record_failure()
    assert breaker.state() == OPEN
    now[0] += 31
    assert breaker.allow() is True
    breaker.record_success()
    # then
    assert breaker.state() == CLOSED
    assert redis_client().get(state_key) is None
    assert breaker.allow() is True


def test_failures_outside_the_window_do_not_open_the_breaker() -> None:
    now = [0.0]
    breaker = CircuitBreaker(
        provider="anthropic",
        failure_threshold=2,
        window_seconds=10,
        cooldown_seconds=5,
        probe_ttl_seconds=5,
        clock=lambda: now[0],
    )
    breaker.record_failure()
    now[0] += 11
    breaker.record_failure()
    assert breaker.state() == CLOSED


def test_open_breaker_skips_the_provider_without_calling_it(providers: Any, sleeps: list[float], settings: Any) -> None:
    # given: every worker shares the breaker in Redis
    settings.SWITCHBOARD_BREAKER_FAILURES = 2
    settings.SWITCHBOARD_MODEL_MAX_RETRIES = 1
    settings.SWITCHBOARD_AGENT_FALLBACKS = []
    providers.push(error(503), error(503))
    first, _ = _ask()
    assert first == DEFAULT_REPLY
    assert (
        redis_client().get("switchboard:breaker:openai@" + providers.openai_base_url.split("/")[2] + ":state")
        == b"open"
    )
    requests_before = len(providers.requests)
    # when
    second, trace = _ask()
    # then
    assert second == DEFAULT_REPLY
    assert len(providers.requests) == requests_before
    assert "circuit breaker" in _model_spans(trace)[0]["error"]


def test_no_test_reaches_the_network(providers: Any, settings: Any, sleeps: list[float]) -> None:
    # a raw connection fails loudly
    sock = socket.socket()
    with pytest.raises(NetworkAccessError):
        sock.connect(("203.0.113.7", 443))
    sock.close()
    # and a model pointed at a real address fails the test loudly (the fallback does not hide it)
    settings.OPENAI_BASE_URL = "http://203.0.113.7/v1"
    settings.SWITCHBOARD_AGENT_FALLBACKS = []
    settings.SWITCHBOARD_MODEL_MAX_RETRIES = 0
    with pytest.raises(BaseException) as raised:  # noqa: PT011 - the error arrives wrapped in an ExceptionGroup
        _ask()
    assert _contains(raised.value, NetworkAccessError)
    assert providers.requests == []


def _contains(exc: BaseException | None, kind: type[BaseException]) -> bool:
    if exc is None:
        return False
    if isinstance(exc, kind):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_contains(e, kind) for e in exc.exceptions)
    return _contains(exc.__cause__ or exc.__context__, kind)


def test_sdk_clients_are_closed_with_the_run(providers: Any) -> None:
    # given
    model = model_chain("agent", default_behaviour)
    clients = [m.client for m in model.models if m.client is not None]  # type: ignore[attr-defined]

    async def run() -> None:
        await Agent(model).run("hi")

    # when
    async_to_sync(run)()
    # then: their connections belonged to that run's event loop
    assert len(clients) == 2
    assert all(client.is_closed() for client in clients)
