"""The first customer message after the worker starts: with and without model warm-up (apps.core.warmup).

For each mode a real uvicorn server and a real turn worker (`manage.py turn_worker`, as `make run` starts it)
run as child processes against the bench PostgreSQL and Redis, with the default local model and local router.
As soon as the worker is alive after its warm-up (`/readyz` reports it), a guest opens `/ws/chat/` and asks a shop
question; we time from sending it to the final answer, then a second question for the steady state. "Ready"
is the time from starting the worker to that: warm-up moves the model loading there.

Run: `.venv/bin/python -m config.devstack bench bench/bench_first_message.py` (or `make bench`).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _server import free_port, wait_http  # noqa: E402

TURN_WORKER = [sys.executable, "manage.py", "turn_worker", "--threads", "2"]
QUESTIONS = ["Do you ship to Norway?", "How long do I have to return an item?"]


def _watch_ready(base_url: str, proc: subprocess.Popen, ready: threading.Event) -> None:
    """Set once `/readyz` counts a live turn worker (it starts saying so after its warm-up)."""
    import urllib.error
    import urllib.request

    while proc.poll() is None:
        try:
            with urllib.request.urlopen(f"{base_url}/readyz", timeout=2) as resp:  # noqa: S310 - loopback only
                body = resp.read()
        except urllib.error.HTTPError as exc:  # 503 while any component is down (no Celery worker here)
            body = exc.read()
        except OSError:
            body = b"{}"
        if json.loads(body or b"{}").get("components", {}).get("turn_workers", {}).get("ok"):
            ready.set()
            return
        time.sleep(0.2)


async def _ask(url: str, origin: str) -> list[float]:
    import websockets

    took = []
    async with websockets.connect(url, origin=origin, max_size=2**20, open_timeout=60) as ws:
        await ws.send(json.dumps({"type": "hello", "last_seq": 0, "channel": "web"}))
        while json.loads(await ws.recv())["type"] != "ready":
            pass
        for question in QUESTIONS:
            t0 = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "id": uuid.uuid4().hex, "text": question}))
            while True:
                event = json.loads(await asyncio.wait_for(ws.recv(), timeout=300))
                if event["type"] == "message" and event["message"]["role"] in ("assistant", "system"):
                    took.append(time.perf_counter() - t0)
                    break
    return took


def _run(warm: bool) -> tuple[float, list[float]]:
    port = free_port()
    env = {
        **os.environ,
        "SWITCHBOARD_WARM_MODELS": "1" if warm else "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOG_LEVEL": "WARNING",
    }
    uvicorn = ["-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        [sys.executable, *uvicorn, "--no-access-log", "--log-level", "warning"], cwd=ROOT, env=env
    )
    started = time.perf_counter()
    worker = subprocess.Popen(TURN_WORKER, cwd=ROOT, env=env)
    ready = threading.Event()
    base_url = f"http://127.0.0.1:{port}"
    threading.Thread(target=_watch_ready, args=(base_url, worker, ready), daemon=True).start()
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", server)
        if not ready.wait(timeout=300):
            raise SystemExit("the worker did not get ready")
        ready_after = time.perf_counter() - started
        took = asyncio.run(_ask(f"ws://127.0.0.1:{port}/ws/chat/", f"http://127.0.0.1:{port}"))
        return ready_after, took
    finally:
        for proc in (worker, server):
            proc.terminate()
        for proc in (worker, server):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main() -> int:
    print("first message after the worker starts (local model and router, turn worker threads x2)")
    for warm in (False, True):
        ready_after, took = _run(warm)
        print(
            f"warm-up {'on ' if warm else 'off'}: worker ready after {ready_after:5.1f} s | "
            f"first answer {took[0]:5.2f} s | second answer {took[1]:5.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
