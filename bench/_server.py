"""What the benchmarks that start the server stack share: a free port, waiting for it, percentiles, load."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank `q` quantile (0..1) of `values` (not empty)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    """Until `url` answers 200; stops the benchmark if `proc` (the server) exits or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - loopback only
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the ASGI server did not come up")


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages, printed beside every timing."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])
