"""Round-trip latency to the benchmark database and Redis (sanity check of the bench stack)."""

import statistics
import time

import django

django.setup()

from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402


def _p(values: list[float], q: float) -> float:
    return sorted(values)[int(q * (len(values) - 1))]


def main() -> None:
    db, rd = [], []
    for _ in range(200):
        t = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        db.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        cache.get("bench-smoke")
        rd.append((time.perf_counter() - t) * 1000)
    print(f"postgres SELECT 1: p50 {statistics.median(db):.3f} ms  p95 {_p(db, 0.95):.3f} ms")
    print(f"redis GET:         p50 {statistics.median(rd):.3f} ms  p95 {_p(rd, 0.95):.3f} ms")


if __name__ == "__main__":
    main()
