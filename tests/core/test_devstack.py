"""The local stack launcher: clear one-line errors for bad configuration."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from config.devstack.services import StackError, check_database_url, check_redis_url, port_is_free

ROOT = Path(__file__).resolve().parents[2]


def test_unreachable_database_url_names_the_variable_and_host():
    with pytest.raises(StackError) as exc:
        check_database_url("postgres://user:secret@127.0.0.1:1/shop")

    message = str(exc.value)
    assert message.startswith("DATABASE_URL: cannot reach PostgreSQL at 127.0.0.1:1 (")
    assert "Connection refused" in message
    assert "secret" not in message
    assert "\n" not in message


def test_unreachable_redis_url_names_the_variable_and_host():
    with pytest.raises(StackError) as exc:
        check_redis_url("redis://127.0.0.1:1/0", "TEST_REDIS_URL")

    assert str(exc.value) == "TEST_REDIS_URL: cannot reach Redis at 127.0.0.1:1"


def test_a_non_redis_url_is_refused():
    with pytest.raises(StackError) as exc:
        check_redis_url("http://127.0.0.1:6379", "REDIS_URL")

    assert str(exc.value) == "REDIS_URL: not a redis:// URL ('http://127.0.0.1:6379')"


def test_port_is_free_sees_a_listening_socket():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert port_is_free("127.0.0.1", port) is False


def _launcher(env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT), **env_extra}
    return subprocess.run(
        [sys.executable, "-m", "config.devstack", "run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_run_with_unreachable_database_url_exits_with_one_line():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    result = _launcher({"DATABASE_URL": "postgres://u@127.0.0.1:1/x", "PORT": str(free_port)})

    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: DATABASE_URL: cannot reach PostgreSQL at 127.0.0.1:1")
    assert "Traceback" not in result.stderr + result.stdout


def test_run_with_port_taken_names_the_variable():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = _launcher({"PORT": str(port)})

    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: port {port} on 127.0.0.1 is already in use: set PORT (e.g. `PORT=8001 make run`)"
    )
