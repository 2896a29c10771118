"""Framework overhead per agent turn: turn time minus model time, the fake LLM server answering instantly.

A turn here is the whole `turn_run`: the conversation lock, budget checks,
context loading, guardrails, routing, the specialist run (pydantic-ai), text
deltas through the channel layer (Redis), the reply and the trace written to
PostgreSQL. "Model time" is the sum of the model-call spans (for the OpenAI
path that includes the HTTP round trip to the fake server on loopback).

Run: `.venv/bin/python -m config.devstack bench bench/bench_turn_overhead.py`
(PostgreSQL and Redis of its own). Prints p50/p95 in milliseconds.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
django.setup()

from django.conf import settings  # noqa: E402

from apps.agents.turns import turn_run  # noqa: E402
from apps.commerce.models import Customer  # noqa: E402
from apps.conversations.models import Conversation, MessageRole, MessageStatus  # noqa: E402
from apps.conversations.services import message_create  # noqa: E402
from apps.observability.models import Trace  # noqa: E402
from tests.fakes.llm_server import FakeLLMServer, text  # noqa: E402

TURNS = int(os.environ.get("BENCH_TURNS", "150"))
WARMUP = 10
PER_CONVERSATION = 8


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(label: str, *, server: FakeLLMServer | None) -> None:
    customer = Customer.objects.create(
        email=f"bench-{uuid.uuid4().hex[:10]}@example.com", first_name="B", last_name="Ench"
    )
    conversation = None
    totals: list[float] = []
    models: list[float] = []
    overheads: list[float] = []
    by_kind: dict[str, list[float]] = {}
    for i in range(WARMUP + TURNS):
        if i % PER_CONVERSATION == 0:
            conversation = Conversation.objects.create(customer=customer)
        if server is not None:
            server.push(text("Your order TW-1001 shipped yesterday and should arrive on Friday.", input_tokens=300))
        message = message_create(
            conversation=conversation,
            role=MessageRole.CUSTOMER,
            text="Where is my order TW-1001?",
            status=MessageStatus.RECEIVED,
        )
        t0 = time.perf_counter()
        turn_run(message_id=message.pk)
        elapsed = (time.perf_counter() - t0) * 1000
        trace = Trace.objects.get(message=message)
        spans = list(trace.spans.values_list("kind", "latency_ms"))
        model_ms = sum(ms for kind, ms in spans if kind == "model_call")
        if i >= WARMUP:
            kinds: dict[str, float] = {}
            for kind, ms in spans:
                kinds[kind] = kinds.get(kind, 0.0) + ms
            kinds["outside spans (lock, budgets, context, persist...)"] = elapsed - sum(ms for _, ms in spans)
            for kind, ms in kinds.items():
                by_kind.setdefault(kind, []).append(ms)
            totals.append(elapsed)
            models.append(model_ms)
            overheads.append(elapsed - model_ms)
    print(
        f"{label:<28} turns {TURNS}: turn p50 {statistics.median(totals):7.2f} ms  p95 {_p(totals, 0.95):7.2f} | "
        f"model p50 {statistics.median(models):6.2f} ms | overhead p50 {statistics.median(overheads):7.2f} ms  "
        f"p95 {_p(overheads, 0.95):7.2f} ms"
    )
    for kind, values in by_kind.items():
        print(f"    {kind:<52} p50 {statistics.median(values):7.2f} ms")


def main() -> None:
    settings.SWITCHBOARD_TURN_MAX_SECONDS = 60
    settings.SWITCHBOARD_CONVERSATION_MAX_TURNS = 0
    settings.SWITCHBOARD_AGENT_MODEL = "local"
    settings.SWITCHBOARD_AGENT_FALLBACKS = []
    run("local model", server=None)
    with FakeLLMServer() as server:
        settings.OPENAI_API_KEY = "sk-bench"
        settings.OPENAI_BASE_URL = server.openai_base_url
        settings.SWITCHBOARD_AGENT_MODEL = "openai:gpt-4.1-mini"
        run("openai (fake, streamed)", server=server)
    print("overhead = turn time - sum of model-call spans; model time includes the loopback HTTP round trip")


if __name__ == "__main__":
    main()
