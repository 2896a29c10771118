"""Chat under load over real sockets: time to first streamed token and to the final answer, and turns/s.

A real uvicorn server (`config.asgi`) and a real turn worker (`manage.py turn_worker`) run as child processes
against the bench PostgreSQL and Redis; the agent runtime answers with an OpenAI model served by the fake LLM server
(tests/fakes/llm_server.py) answering instantly, so the figures are the product's own overhead: the
socket, the channel layer, the queue, the turn (routing, guardrails, pydantic-ai, trace) and the writes.

For 1, 50 and 200 concurrent conversations each client opens `/ws/chat/`, says hello and asks
BENCH_TURNS_PER_CONVERSATION questions one after the other, timing from sending the message to the
first `delta` (first token) and to the final assistant `message`.

Run: `.venv/bin/python -m config.devstack bench bench/bench_chat_load.py` (or `make bench`).
Needs the agent runtime (apps.agents.turns) and its fake server; says so and exits 0 without them.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _server import free_port, percentile, wait_http  # noqa: E402

LEVELS = [int(x) for x in os.environ.get("BENCH_CONCURRENCY", "1,50,200").split(",")]
TURNS_PER_CONVERSATION = int(os.environ.get("BENCH_TURNS_PER_CONVERSATION", "2"))
WORKER_CONCURRENCY = os.environ.get("BENCH_WORKER_CONCURRENCY", "8")
REPLY = "Your order shipped yesterday and should arrive on Friday. Anything else I can help with?"


async def _conversation(url: str, origin: str, results: dict[str, list[float]]) -> None:
    import websockets

    async with websockets.connect(url, origin=origin, max_size=2**20, open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "hello", "last_seq": 0, "channel": "web"}))
        await _until(ws, lambda e: e["type"] == "ready")
        for _ in range(TURNS_PER_CONVERSATION):
            client_id = uuid.uuid4().hex
            t0 = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "id": client_id, "text": "Do you ship to Norway?"}))
            first = None
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), timeout=120))
                if event["type"] == "accepted":
                    results["accepted"].append((time.perf_counter() - t0) * 1000)
                if event["type"] == "delta" and first is None:
                    first = time.perf_counter() - t0
                if event["type"] == "error":
                    results["errors"].append(1)
                    break
                if event["type"] == "message" and event["message"]["role"] in ("assistant", "system"):
                    results["final"].append((time.perf_counter() - t0) * 1000)
                    if first is not None:
                        results["first"].append(first * 1000)
                    break


async def _until(ws, predicate) -> dict:  # type: ignore[no-untyped-def]
    while True:
        event = json.loads(await asyncio.wait_for(ws.recv(), timeout=60))
        if predicate(event):
            return event


async def _level(url: str, origin: str, n: int) -> tuple[dict[str, list[float]], float]:
    results: dict[str, list[float]] = {"accepted": [], "first": [], "final": [], "errors": []}
    t0 = time.perf_counter()
    outcomes = await asyncio.gather(*(_conversation(url, origin, results) for _ in range(n)), return_exceptions=True)
    wall = time.perf_counter() - t0
    results["errors"].extend(1 for o in outcomes if isinstance(o, BaseException))
    return results, wall


def main() -> int:
    if (
        importlib.util.find_spec("apps.agents.turns") is None
        or importlib.util.find_spec("tests.fakes.llm_server") is None
    ):
        print("skipped: needs the agent runtime (apps.agents.turns) and tests/fakes/llm_server.py")
        return 0
    from tests.fakes.llm_server import FakeLLMServer, text

    port = free_port()
    with FakeLLMServer(default=text(REPLY, input_tokens=300, output_tokens=20)) as llm:
        env = {
            **os.environ,
            "OPENAI_API_KEY": "sk-bench",
            "OPENAI_BASE_URL": llm.openai_base_url,
            "SWITCHBOARD_AGENT_MODEL": "openai:gpt-4.1-mini",
            "SWITCHBOARD_ROUTER_MODEL": os.environ.get("BENCH_ROUTER_MODEL", "local"),
            "SWITCHBOARD_CONVERSATION_MAX_TURNS": "0",
            "SWITCHBOARD_CUSTOMER_DAILY_MAX_TOKENS": "0",
            "CHAT_RATE_PER_CUSTOMER": "100000/m",
            "CHAT_RATE_PER_CONNECTION": "100000/m",
            "CHAT_RATE_PER_IP": "100000/m",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "LOG_LEVEL": "WARNING",
            # persistent connections per thread, as in production (docs/configuration.md)
            "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
        }
        uvicorn = ["-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
        server = subprocess.Popen(
            [sys.executable, *uvicorn, "--no-access-log", "--ws-max-size", "65536", "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "turn_worker", "--threads", WORKER_CONCURRENCY], cwd=ROOT, env=env
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz", server)
            url, origin = f"ws://127.0.0.1:{port}/ws/chat/", f"http://127.0.0.1:{port}"
            asyncio.run(_level(url, origin, 1))  # warm-up: model loading, first connections
            print(
                "chat over real sockets, fake LLM answering instantly, "
                f"{TURNS_PER_CONVERSATION} turns per conversation, turn worker threads x{WORKER_CONCURRENCY}"
            )
            for n in LEVELS:
                results, wall = asyncio.run(_level(url, origin, n))
                first, final = results["first"], results["final"]
                if not final:
                    print(f"{n:>4} conversations: no answers ({len(results['errors'])} errors)")
                    continue
                if not first:
                    print(f"{n:>4} conversations: final p50 {statistics.median(final):7.1f} ms (no deltas seen)")
                    continue
                accepted = results["accepted"]
                print(
                    f"{n:>4} conversations: accepted p50 {statistics.median(accepted):6.1f} ms "
                    f"p95 {percentile(accepted, 0.95):6.1f} ms | first token p50 {statistics.median(first):7.1f} ms "
                    f"p95 {percentile(first, 0.95):7.1f} ms | final p50 {statistics.median(final):7.1f} ms "
                    f"p95 {percentile(final, 0.95):7.1f} ms | {len(final) / wall:6.1f} turns/s | "
                    f"{len(results['errors'])} err"
                )
        finally:
            for proc in (worker, server):
                proc.terminate()
            for proc in (worker, server):
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
