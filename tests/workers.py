"""A turn worker (apps.agents.turn_worker) on a thread of the test process, against the test Redis and database.

    with turn_worker_thread(threads=2) as worker: ...      # serves until the block ends
    turn_worker_burst(threads=2)                             # serves until nothing is left, returns entries done

Its turns run on their own threads with their own database connections: use it from tests with
`django_db(transaction=True)` so what the test stored is committed and visible to them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from apps.agents.turn_worker import TurnWorker


@contextmanager
def turn_worker_thread(**options: Any) -> Iterator[TurnWorker]:
    worker = TurnWorker(**options)
    loop = asyncio.new_event_loop()
    started = threading.Event()

    failed: list[BaseException] = []

    async def main() -> None:
        task = asyncio.ensure_future(worker.run())
        await asyncio.sleep(0)
        started.set()
        try:
            await task
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(timeout=30)
    try:
        yield worker
    finally:
        loop.call_soon_threadsafe(worker.stop)
        thread.join(timeout=120)
        loop.close()
    if failed:
        raise failed[0]


def turn_worker_burst(**options: Any) -> int:
    """Serve the stream on a fresh loop (in a thread: the caller may be below a loop) until it is drained."""
    done: list[int] = []
    worker = TurnWorker(burst=True, **options)
    thread = threading.Thread(target=lambda: done.append(asyncio.run(worker.run())))
    thread.start()
    thread.join(timeout=600)
    assert done, "the turn worker did not finish"
    return done[0]
