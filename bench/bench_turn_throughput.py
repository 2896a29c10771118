"""Turn throughput over the real path, with server CPU per turn from /proc (issue 14).

WebSocket -> web (uvicorn, `config.asgi`) -> turn stream (Redis) -> turn worker processes (`manage.py turn_worker`,
apps.agents.turn_worker) -> channel layer -> socket,
against the bench PostgreSQL and Redis, the agent answering with the local model (no network).
For each concurrency level N, N guest conversations each send BENCH_TURNS_PER_CONVERSATION messages
one after the other. Printed per level:

- server CPU per turn, per process kind (web, worker, PostgreSQL incl. its backends, Redis) and summed:
  utime+stime deltas from /proc/<pid>/stat (and reaped children), divided by the answered turns.
  CPU time is far less sensitive to the machine's load than wall time;
- turns/s and the final answer's p50/p95 (send -> the assistant's stored message on the socket), and how
  many `busy` answers the clients got (they send the same frame again after `retry_after`);
- the model's first text -> the first delta on the socket (the worker stamps the first text in the
  reply span's `stream` data; the client stamps the delta's arrival; same machine, same clock), split at the
  worker's stamp after its send returned (a relay part under 0 means the delta was on the socket before the
  worker's thread got the GIL back to stamp it);
- RSS per process (with its peak, VmHWM, and PSS where /proc has smaps_rollup) of each turn worker and the
  embedding server, and their sum: issue 14's memory figure ("the total with 2 processes", the model server
  counted because the workers need it); the web process's apart, and `uptime`'s load average.

What the turns ask (BENCH_KNOWLEDGE): 1 (default) loads the demo shop's help centre (apps/knowledge/demo_kb/,
`manage.py ingest_demo_kb`, what `make run` seeds) into the bench database first and drives a guest's realistic mix
(MIX below: mostly policy questions the help centre answers, some out of scope, some it cannot answer); 0 empties the
knowledge tables and asks the three old questions, every turn taking the FAQ's unanswered path (three searches, an
unanswered-question row, a ticket offer): the figures docs/scaling.md quoted before the knowledge mode, kept for
comparison. The mode and the unanswered-question rows the measured turns left are printed. Guests cannot ask about
their orders (that needs verification), so the mix has no order questions.

Beside it, the floor: an empty entry's round trip to the socket (`apps.agents.turn_queue.echo_enqueue`, added
from this process, read by a turn worker, sent through the channel layer and relayed by the web process to the
socket), its CPU per round trip, and the ratio of a full turn to it.

Run: `.venv/bin/python -m config.devstack bench bench/bench_turn_throughput.py`
Env: BENCH_CONCURRENCY (default "1,50,200"), BENCH_TURNS_PER_CONVERSATION (3), BENCH_WORKERS (turn worker
processes, one per core), BENCH_WORKER_THREADS (turns at once per worker process, 4), BENCH_MODEL ("local"),
BENCH_FLOOR (50), BENCH_KNOWLEDGE (1: the demo help centre and the mix; 0: no documents, the old three questions),
BENCH_EMBEDDING_SERVER (1: one embedding server, `python -m apps.agents.offline.serve`, for the
workers, its CPU counted as the kind "embedder"; 0: each worker loads the model itself), BENCH_QUEUE_MAX (the turn
queue's `busy` limit; clients resend after `retry_after`, 1 s here).
"""

from __future__ import annotations

import asyncio
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
from _server import free_port, load_average, percentile, wait_http  # noqa: E402

LEVELS = [int(x) for x in os.environ.get("BENCH_CONCURRENCY", "1,50,200").split(",") if x]
TURNS_PER_CONVERSATION = int(os.environ.get("BENCH_TURNS_PER_CONVERSATION", "3"))
WORKERS = int(os.environ.get("BENCH_WORKERS") or os.cpu_count() or 1)
WORKER_THREADS = os.environ.get("BENCH_WORKER_THREADS", "4")
MODEL = os.environ.get("BENCH_MODEL", "local")
FLOOR_ROUND_TRIPS = int(os.environ.get("BENCH_FLOOR", "50"))
QUEUE_MAX = os.environ.get("BENCH_QUEUE_MAX", "")  # the turn queue's busy limit (default: the setting's)
EMBEDDING_SERVER = os.environ.get("BENCH_EMBEDDING_SERVER", "1") == "1"
KNOWLEDGE = os.environ.get("BENCH_KNOWLEDGE", "1") != "0"
# BENCH_KNOWLEDGE=0: the old questions, against no documents (comparable with the figures before the mix)
QUESTIONS = ["Do you ship to Norway?", "What is your return policy?", "How long does delivery take?"]
# BENCH_KNOWLEDGE=1: what a guest asks, against the demo help centre. 7 of 10 answered from it, 2 out of scope,
# 1 it has no answer for; conversation k starts at MIX[k % 10] so the turns in flight are a mix at every moment.
MIX = [
    "How many days do I have to return something?",
    "Can I pay with PayPal?",
    "Do you ship to Canada, and how long does it take?",
    "Can you write me a poem about the sea?",
    "How much does express shipping cost?",
    "Do gift cards expire?",
    "Do you have a physical store in Lisbon where I can try things on?",
    "What does the warranty cover?",
    "What's the weather like in Paris tomorrow?",
    "How do I use a promo code?",
]
TICKS = os.sysconf("SC_CLK_TCK")


# --- CPU and memory from /proc ------------------------------------------------------------------------
def _stat(pid: int) -> tuple[int, float, float]:
    """(ppid, own cpu seconds, reaped children's cpu seconds)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    # fields[0] is state (field 3); utime is field 14 -> index 11
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return int(fields[1]), (utime + stime) / TICKS, (cutime + cstime) / TICKS


def _tree_cpu(root: int) -> float:
    """CPU seconds of `root`, its live descendants, and the children it has reaped."""
    parents: dict[int, int] = {}
    own: dict[int, float] = {}
    reaped = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            ppid, cpu, children = _stat(int(entry))
        except (OSError, ValueError):
            continue
        parents[int(entry)], own[int(entry)] = ppid, cpu
        if int(entry) == root:
            reaped = children
    total = reaped
    for pid in own:
        walk = pid
        while walk and walk != root:
            walk = parents.get(walk, 0)
        if walk == root:
            total += own[pid]
    return total


def _memory(pid: int) -> tuple[float, float | None, float]:
    """(RSS MiB, PSS MiB or None, peak RSS MiB since the process started)."""
    rss = pss = None
    peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
        elif line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss or 0.0, pss, peak


class Processes:
    def __init__(self, web: int, workers: list[int], postgres: int, redis: int, embedder: int | None = None) -> None:
        self.kinds = {"web": [web], "worker": workers, "postgres": [postgres], "redis": [redis]}
        if embedder is not None:
            self.kinds["embedder"] = [embedder]

    def snapshot(self) -> dict[str, float]:
        return {kind: sum(_tree_cpu(pid) for pid in pids) for kind, pids in self.kinds.items()}


def _server_pids() -> tuple[int, int]:
    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT setting FROM pg_settings WHERE name = 'data_directory'")
        data_dir = Path(cursor.fetchone()[0])
    postmaster = int((data_dir / "postmaster.pid").read_text().splitlines()[0])
    redis_pid = int(redis.Redis.from_url(settings.REDIS_URL).info("server")["process_id"])
    return postmaster, redis_pid


# --- the socket client --------------------------------------------------------------------------------
async def _recv(ws) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(await asyncio.wait_for(ws.recv(), timeout=300))


def _question(conversation: int, turn: int) -> str:
    # every text distinct, as in real traffic: no embedding or retrieval cache answers for free
    ref = uuid.uuid4().hex[:6]
    if KNOWLEDGE:
        return f"{MIX[(conversation + turn) % len(MIX)]} (ref {ref})"
    return f"{QUESTIONS[turn % len(QUESTIONS)]} Thanks! (ref {ref})"


def _prepare_knowledge() -> str:
    """The bench database's knowledge tables for the mode: the demo help centre, or empty. Returns the mode's line."""
    from _knowledge import reset_knowledge

    from apps.knowledge.models import Chunk, Document

    reset_knowledge(keep_cache=True)
    if not KNOWLEDGE:
        return "knowledge: none (BENCH_KNOWLEDGE=0): the old three questions, every turn the FAQ's unanswered path"
    t0 = time.perf_counter()
    # in a process of its own, so this client does not hold the embedding model through the measurement
    subprocess.run([sys.executable, "manage.py", "ingest_demo_kb"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return (
        f"knowledge: the demo help centre ({Document.objects.count()} documents, {Chunk.objects.count()} chunks, "
        f"ingested in {time.perf_counter() - t0:.1f} s); a guest's mix of {len(MIX)} questions (BENCH_KNOWLEDGE=1)"
    )


def _unanswered() -> int:
    from apps.knowledge.models import UnansweredQuestion

    return UnansweredQuestion.objects.count()


async def _conversation(url: str, origin: str, res: dict[str, list], floor: int = 0, index: int = 0) -> None:
    import websockets

    async with websockets.connect(url, origin=origin, max_size=2**20, open_timeout=120) as ws:
        await ws.send(json.dumps({"type": "hello", "last_seq": 0, "channel": "web"}))
        while (await _recv(ws))["type"] != "ready":
            pass
        for i in range(TURNS_PER_CONVERSATION):
            t0 = time.perf_counter()
            text = _question(index, i)
            frame = json.dumps({"type": "message", "id": uuid.uuid4().hex, "text": text})
            await ws.send(frame)
            first_delta_wall = None
            while True:
                event = await _recv(ws)
                if event["type"] == "ready" and event.get("conversation"):
                    res["groups"].append(event["conversation"])
                elif event["type"] == "accepted":
                    res["accepted"].append((time.perf_counter() - t0) * 1000)
                elif event["type"] == "delta" and first_delta_wall is None:
                    first_delta_wall = time.time()
                elif event["type"] == "error" and event.get("code") == "busy":
                    # back-pressure: the turn queue is full; send the same frame again when told (as the page does)
                    res["busy"].append(1)
                    await asyncio.sleep(float(event.get("retry_after") or 1))
                    await ws.send(frame)
                elif event["type"] == "error":
                    res["errors"].append(event.get("code"))
                    break
                elif event["type"] == "message" and event["message"]["role"] in ("assistant", "system"):
                    res["final"].append((time.perf_counter() - t0) * 1000)
                    if first_delta_wall is not None:
                        res["delta_at"].append((event["message"]["in_reply_to"], first_delta_wall))
                    break
        for _ in range(floor):
            await _echo(ws, res)


async def _echo(ws, res: dict[str, list]) -> None:  # type: ignore[no-untyped-def]
    from apps.agents.turn_queue import echo_enqueue

    group = res["groups"][-1] if res["groups"] else None
    if group is None:
        return
    token = uuid.uuid4().hex
    t0 = time.perf_counter()
    echo_enqueue(group=f"conversation.{group}", token=token)
    while True:
        event = await _recv(ws)
        if event["type"] == "echo" and event.get("token") == token:
            res["floor"].append((time.perf_counter() - t0) * 1000)
            return


async def _floor(url: str, origin: str, n: int) -> tuple[list, list[str]]:
    """n sockets, each with a conversation, then FLOOR round trips each of an empty entry to its socket."""
    import websockets

    sockets = []
    try:
        for _ in range(n):
            ws = await websockets.connect(url, origin=origin, max_size=2**20, open_timeout=120)
            sockets.append(ws)
        groups = []
        for ws in sockets:
            await ws.send(json.dumps({"type": "hello", "last_seq": 0, "channel": "web"}))
            while (await _recv(ws))["type"] != "ready":
                pass
            await ws.send(json.dumps({"type": "message", "id": uuid.uuid4().hex, "text": "Hello"}))
            group = None
            while True:
                event = await _recv(ws)
                if event["type"] == "ready" and event.get("conversation"):
                    group = event["conversation"]
                if event["type"] == "message" and event["message"]["role"] in ("assistant", "system"):
                    break
            groups.append(group)
        return sockets, groups
    except BaseException:
        for ws in sockets:
            await ws.close()
        raise


async def _floor_run(sockets: list, groups: list[str], res: dict[str, list], per_socket: int) -> float:
    async def one(ws, group: str) -> None:  # type: ignore[no-untyped-def]
        sub = {"groups": [group], "floor": res["floor"]}
        for _ in range(per_socket):
            await _echo(ws, sub)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(ws, g) for ws, g in zip(sockets, groups, strict=True)))
    wall = time.perf_counter() - t0
    for ws in sockets:
        await ws.close()
    return wall


async def _level(url: str, origin: str, n: int) -> tuple[dict[str, list], float]:
    res: dict[str, list] = {"accepted": [], "final": [], "errors": [], "groups": [], "delta_at": [], "busy": []}
    t0 = time.perf_counter()
    outcomes = await asyncio.gather(
        *(_conversation(url, origin, res, index=k) for k in range(n)), return_exceptions=True
    )
    wall = time.perf_counter() - t0
    res["errors"].extend(repr(o)[:80] for o in outcomes if isinstance(o, BaseException))
    return res, wall


def _first_text_to_delta(delta_at: list[tuple[int, float]]) -> tuple[list[float], list[float], list[float]]:
    """ms from the model's first text (worker's stamp in the reply span) to the first delta on the socket, and
    its two parts: first text -> the worker's send returned (the stream guard's check and the channel-layer
    send: `first_sent_at`), and that -> the socket (Redis and the web process's relay)."""
    from apps.observability.models import Span

    wanted = dict(delta_at)
    spans = Span.objects.filter(kind="reply", trace__message_id__in=list(wanted)).values_list(
        "trace__message_id", "data"
    )
    total, worker, relay = [], [], []
    for message_id, data in spans:
        stream = (data or {}).get("stream", {})
        stamp, sent = stream.get("first_text_at"), stream.get("first_sent_at")
        if stamp:
            total.append((wanted[message_id] - stamp) * 1000)
            if sent:
                worker.append((sent - stamp) * 1000)
                relay.append((wanted[message_id] - sent) * 1000)
    return total, worker, relay


def _print_cpu(label: str, before: dict[str, float], after: dict[str, float], count: int) -> float:
    parts = []
    total = 0.0
    for kind in before:
        ms = (after[kind] - before[kind]) * 1000 / max(count, 1)
        total += ms
        parts.append(f"{kind} {ms:6.2f}")
    print(
        f"    {label} CPU per {'turn' if 'turn' in label else 'round trip'} (ms): {' | '.join(parts)} | "
        f"total {total:6.2f}"
    )
    return total


def main() -> int:
    postgres_pid, redis_pid = _server_pids()
    mode = _prepare_knowledge()
    print(mode)
    port = free_port()
    env = {
        **os.environ,
        "SWITCHBOARD_AGENT_MODEL": MODEL,
        "SWITCHBOARD_AGENT_FALLBACKS": "",
        "SWITCHBOARD_ROUTER_MODEL": "local",
        "SWITCHBOARD_CONVERSATION_MAX_TURNS": "0",
        "SWITCHBOARD_CUSTOMER_DAILY_MAX_TOKENS": "0",
        "SWITCHBOARD_GUEST_DAILY_MAX_TURNS_PER_IP": "0",
        "SWITCHBOARD_GUEST_DAILY_MAX_TOKENS_PER_IP": "0",
        "SWITCHBOARD_GUEST_DAILY_MAX_COST_PER_IP": "0",
        "SWITCHBOARD_GUEST_DAILY_MAX_TOKENS": "0",
        "SWITCHBOARD_GUEST_DAILY_MAX_COST": "0",
        "CHAT_RATE_PER_CUSTOMER": "1000000/m",
        "CHAT_RATE_PER_CONNECTION": "1000000/m",
        "CHAT_RATE_PER_IP": "1000000/m",
        "CHAT_RATE_CONVERSATIONS_PER_IP": "1000000/h",
        "CHAT_RATE_SOCKETS_PER_IP": "1000000/m",
        "CHAT_MAX_SOCKETS_PER_IP": "100000",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
        "DATABASE_CONN_MAX_AGE": os.environ.get("DATABASE_CONN_MAX_AGE", "60"),
    }
    if QUEUE_MAX:
        env["SWITCHBOARD_TURN_QUEUE_MAX_LENGTH"] = QUEUE_MAX
        env["SWITCHBOARD_TURN_BUSY_RETRY_SECONDS"] = "1"
    embedding_server = None
    if EMBEDDING_SERVER:
        from config.devstack.cli import start_embedding_server

        env["SWITCHBOARD_EMBEDDING_SERVER"] = str(ROOT / "var" / "bench" / f"embedder-{port}.sock")
        embedding_server = start_embedding_server(env)
    uvicorn = ["-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    web = subprocess.Popen(
        [sys.executable, *uvicorn, "--no-access-log", "--ws-max-size", "65536", "--log-level", "warning"],
        cwd=ROOT,
        env=env,
    )
    # As `make run` and the Docker build do: the classifiers trained and cached before any worker starts, so no
    # worker trains one (which imports scikit-learn and SciPy into it for good: about 80 MiB more per process).
    subprocess.run(
        [sys.executable, "manage.py", "prepare_router"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL
    )
    workers = []
    for _ in range(WORKERS):
        turn_worker = [sys.executable, "manage.py", "turn_worker", "--threads", WORKER_THREADS]
        workers.append(subprocess.Popen(turn_worker, cwd=ROOT, env=env, stdout=subprocess.DEVNULL))
    procs = Processes(
        web.pid, [w.pid for w in workers], postgres_pid, redis_pid, embedding_server.pid if embedding_server else None
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", web, timeout=120)
        url, origin = f"ws://127.0.0.1:{port}/ws/chat/", f"http://127.0.0.1:{port}"
        asyncio.run(_level(url, origin, 2))  # warm-up: models, connections, every worker thread's agent
        asyncio.run(_level(url, origin, 8))
        print(
            f"turn throughput over real sockets: model {MODEL!r}, {TURNS_PER_CONVERSATION} turns per conversation, "
            f"{WORKERS} turn worker process(es) x {WORKER_THREADS} threads, 1 web process; load {load_average()}"
        )
        # the floor: an empty entry's round trip through the turn stream and a worker to a socket
        floor_sockets = min(50, max(LEVELS))
        per_socket = max(1, FLOOR_ROUND_TRIPS // floor_sockets) if FLOOR_ROUND_TRIPS else 0
        floor_ms = None
        floor_cpu = None
        if per_socket:
            res: dict = {"floor": []}
            wall = asyncio.run(_floor_on_new_loop(url, origin, floor_sockets, per_socket, procs, res))
            floor_ms = statistics.median(res["floor"])
            print(
                f"  floor, empty entry -> turn worker -> socket, {floor_sockets} sockets x {per_socket}: "
                f"p50 {floor_ms:6.1f} ms p95 {percentile(res['floor'], 0.95):6.1f} ms | "
                f"{len(res['floor']) / wall:6.1f} round trips/s | load {load_average()}"
            )
            floor_cpu = _print_cpu("floor", res["cpu_before"], res["cpu_after"], len(res["floor"]))
        for n in LEVELS:
            unanswered = _unanswered()
            before = procs.snapshot()
            res, wall = asyncio.run(_level(url, origin, n))
            after = procs.snapshot()
            final = res["final"]
            print(
                f"  {n:>4} conversations, {len(final)} turns in {wall:5.1f} s: {len(final) / wall:6.1f} turns/s, "
                f"{len(res['errors'])} errors, {len(res['busy'])} busy answers (resent), "
                f"{_unanswered() - unanswered} unanswered-question rows | load {load_average()}"
            )
            if res["errors"]:
                print(f"       errors: {sorted(set(map(str, res['errors'])))[:5]}")
            if not final:
                continue
            print(
                f"    final answer p50 {statistics.median(final):7.1f} ms  p95 {percentile(final, 0.95):7.1f} ms | "
                f"accepted p50 {statistics.median(res['accepted']):6.1f} ms"
            )
            lag, in_worker, relay = _first_text_to_delta(res["delta_at"])
            if lag:
                print(
                    f"    model's first text -> first delta on the socket: p50 {statistics.median(lag):6.1f} ms  "
                    f"p95 {percentile(lag, 0.95):6.1f} ms ({len(lag)} turns)"
                )
            if in_worker:
                print(
                    f"      of which first text -> sent by the worker (stream guard + send): p50 "
                    f"{statistics.median(in_worker):6.1f} ms p95 {percentile(in_worker, 0.95):6.1f} ms; sent -> socket "
                    f"(Redis + web relay): p50 {statistics.median(relay):6.1f} ms p95 {percentile(relay, 0.95):6.1f} ms"
                )
            else:
                print("    model's first text -> first delta: no stamped deltas seen")
            total = _print_cpu("server turn", before, after, len(final))
            if floor_cpu:
                print(
                    f"    full turn / empty round trip: CPU {total / floor_cpu:5.1f}x"
                    + (f", p50 latency {statistics.median(final) / floor_ms:5.1f}x" if floor_ms else "")
                )
        model_holders = [(f"worker {i}", w.pid) for i, w in enumerate(workers)]
        if embedding_server is not None:
            model_holders.append(("embedding server", embedding_server.pid))
        total_rss = total_pss = total_peak = 0.0
        for name, pid in model_holders:
            rss, pss, peak = _memory(pid)
            total_rss, total_pss, total_peak = total_rss + rss, total_pss + (pss or 0.0), total_peak + peak
            print(
                f"  {name} RSS {rss:7.1f} MiB (peak {peak:7.1f})" + (f", PSS {pss:7.1f} MiB" if pss is not None else "")
            )
        print(
            f"  workers + embedding server: RSS {total_rss:7.1f} MiB = {total_rss / 1024:4.2f} GiB (sum of peaks "
            f"{total_peak:7.1f}), PSS {total_pss:7.1f} MiB (web process not counted)"
        )
        rss, pss, peak = _memory(web.pid)
        print(f"  web RSS {rss:7.1f} MiB (peak {peak:7.1f})" + (f", PSS {pss:7.1f} MiB" if pss is not None else ""))
        print(f"  {mode}")
        print(f"  load {load_average()}")
    finally:
        others = (embedding_server,) if embedding_server is not None else ()
        for proc in (*workers, web, *others):
            proc.terminate()
        for proc in (*workers, web, *others):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


async def _floor_on_new_loop(url: str, origin: str, n: int, per_socket: int, procs: Processes, res: dict) -> float:
    sockets, groups = await _floor(url, origin, n)
    res["cpu_before"] = procs.snapshot()
    wall = await _floor_run(sockets, groups, res, per_socket)
    res["cpu_after"] = procs.snapshot()
    return wall


if __name__ == "__main__":
    raise SystemExit(main())
