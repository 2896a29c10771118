"""CPU per turn in one process: `turn_run` in a loop, the local model, every text distinct (issue 14).

No sockets, no task queue: what the turn itself costs the process that runs it (all threads, from
`time.process_time()`), beside the PostgreSQL backend's CPU for the same turns (from /proc, when the
server runs on this machine) and the SQL statements per turn. Guest conversations (session key and
address, as a socket opens them), BENCH_PER_CONVERSATION turns each, the same three questions as
`bench_turn_throughput.py` with a random reference appended, so neither the embedder's memory nor
`EmbeddingCache` answers for free.

Run: `.venv/bin/python -m config.devstack bench bench/bench_turn_cpu.py`
Env: BENCH_TURNS (200), BENCH_PER_CONVERSATION (2), BENCH_PROFILE=path writes a cProfile of the measured
turns (CPU clock) to `path`.

It also prints what the turn's readers ask the embedder and what of it reaches the model (texts asked, encodes,
the texts they carry, the distinct token sequences run and their tokens), per turn.

Beside the turn it prints a floor: the CPU of a bare pydantic-ai `Agent.run` (a `FunctionModel` answering one
sentence, no tools, no history) on the same thread loop a turn uses, against which the specialist's run (its
instructions, toolset, local behaviour, tool calls and streaming) can be read.
"""

from __future__ import annotations

import cProfile
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import load_average

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from apps.agents.turns import turn_run  # noqa: E402
from apps.conversations.models import Conversation, MessageRole, MessageStatus  # noqa: E402
from apps.conversations.services import message_create  # noqa: E402

TURNS = int(os.environ.get("BENCH_TURNS", "200"))
PER_CONVERSATION = int(os.environ.get("BENCH_PER_CONVERSATION", "2"))
PROFILE = os.environ.get("BENCH_PROFILE", "")
WARMUP = 10
QUESTIONS = ["Do you ship to Norway?", "What is your return policy?", "How long does delivery take?"]
TICKS = os.sysconf("SC_CLK_TCK")


def _backend_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend, when it runs on this machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _turn(conversation: Conversation, i: int) -> None:
    text = f"{QUESTIONS[i % len(QUESTIONS)]} Thanks! (ref {uuid.uuid4().hex[:6]})"
    message = message_create(
        conversation=conversation, role=MessageRole.CUSTOMER, text=text, status=MessageStatus.RECEIVED
    )
    turn_run(message_id=message.pk)


def _bare_run_cpu(runs: int = 200) -> float:
    """CPU milliseconds of one bare `Agent.run` through `async_to_sync` on the thread's loop, as a turn calls it."""
    from asgiref.sync import async_to_sync
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelResponse, TextPart
    from pydantic_ai.models.function import FunctionModel

    from apps.core.aio import use_thread_loop

    use_thread_loop()
    agent = Agent(FunctionModel(lambda messages, info: ModelResponse(parts=[TextPart("Yes, we ship to Norway.")])))
    run = async_to_sync(agent.run)
    for _ in range(WARMUP):
        run("Do you ship to Norway?")
    t0 = time.process_time()
    for _ in range(runs):
        run("Do you ship to Norway?")
    return (time.process_time() - t0) * 1000 / runs


class _EmbeddingCounts:
    """What a turn's readers ask the embedder, and what of it reaches the model: texts asked (`embedder.embed`),
    encodes (`embedder._encode`: round trips to the model, or to the embedding server on the real path), the texts
    they carry, and the distinct token sequences the model runs (`packed.packed_encode`) with their tokens."""

    def __init__(self) -> None:
        from apps.agents.offline import embedder, packed

        self.asked = self.encodes = self.encoded = self.sequences = self.tokens = 0
        embed, encode, packed_encode = embedder.embed, embedder._encode, packed.packed_encode

        def counted_embed(texts: list[str], **kwargs: object) -> object:
            self.asked += len(texts)
            return embed(texts, **kwargs)

        def counted_encode(texts: list[str], **kwargs: object) -> object:
            self.encodes += 1
            self.encoded += len(texts)
            return encode(texts, **kwargs)

        def counted_packed(model: object, sequences: list[list[int]]) -> object:
            self.sequences += len(sequences)
            self.tokens += sum(map(len, sequences))
            return packed_encode(model, sequences)

        embedder.embed, embedder._encode, packed.packed_encode = counted_embed, counted_encode, counted_packed

    def reset(self) -> None:
        self.asked = self.encodes = self.encoded = self.sequences = self.tokens = 0

    def line(self, turns: int) -> str:
        return (
            f"embedding per turn: {self.asked / turns:.1f} texts asked by the readers, {self.encodes / turns:.2f} "
            f"encodes carrying {self.encoded / turns:.2f} texts, {self.sequences / turns:.2f} distinct token sequences "
            f"run by the model ({self.tokens / turns:.1f} tokens)"
        )


def _conversation() -> Conversation:
    # an address of its own: the per-address guest budget must not hand the bench's turns to a person
    address = f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    conversations.append(Conversation.objects.create(session_key=uuid.uuid4().hex, client_ip=address))
    return conversations[-1]


conversations: list[Conversation] = []


def main() -> None:
    settings.SWITCHBOARD_TURN_MAX_SECONDS = 60
    settings.SWITCHBOARD_AGENT_MODEL = "local"
    settings.SWITCHBOARD_AGENT_FALLBACKS = []
    embedding = _EmbeddingCounts()
    conversation = _conversation()
    for i in range(WARMUP):
        _turn(conversation, i)
    embedding.reset()
    cpu: list[float] = []
    profiler = cProfile.Profile(time.process_time) if PROFILE else None
    pg_before = _backend_cpu()
    load_before = load_average()
    wall = time.perf_counter()
    counter = [0]

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        counter[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        for i in range(TURNS):
            if i % PER_CONVERSATION == 0:
                conversation = _conversation()
            t0 = time.process_time()
            if profiler is not None:
                profiler.enable()
            _turn(conversation, i)
            if profiler is not None:
                profiler.disable()
            cpu.append((time.process_time() - t0) * 1000)
    statements = counter[0]
    wall = time.perf_counter() - wall
    pg_after = _backend_cpu()
    if profiler is not None:
        profiler.dump_stats(PROFILE)
    print(
        f"turns {TURNS} ({PER_CONVERSATION} per guest conversation), "
        f"load average before {load_before}, after {load_average()}"
    )
    print(
        f"process CPU per turn (all threads, incl. creating the customer's message): "
        f"mean {statistics.fmean(cpu):.1f} ms  p50 {statistics.median(cpu):.1f} ms  "
        f"p95 {sorted(cpu)[int(0.95 * (len(cpu) - 1))]:.1f} ms"
    )
    if pg_before is not None and pg_after is not None:
        print(f"PostgreSQL backend CPU per turn: {(pg_after - pg_before) * 1000 / TURNS:.1f} ms")
    print(f"SQL statements per turn: {statements / TURNS:.1f}")
    print(embedding.line(TURNS))
    handed_off = Conversation.objects.filter(pk__in=[c.pk for c in conversations]).exclude(status="open").count()
    print(f"conversations handed to a person (a budget or a route): {handed_off} of {len(conversations)}")
    print(f"wall per turn: {wall * 1000 / TURNS:.1f} ms")
    print(f"floor: a bare pydantic-ai Agent.run (FunctionModel, no tools), CPU per run: {_bare_run_cpu():.2f} ms")


if __name__ == "__main__":
    main()
