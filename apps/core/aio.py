"""A long-lived event loop for each thread of sync code that awaits (channel-layer sends, the agent's run).

`asgiref.async_to_sync` called from a plain thread starts a new thread and a new event loop per call,
and channels_redis opens a new Redis connection pool for every loop it sees: three of them per turn.
A thread marked with `use_thread_loop()` hands its `async_to_sync` calls to a loop of its own that
lives as long as the thread (asgiref's own path for a sync thread below an event loop): the awaitable
runs there, and thread-sensitive `sync_to_async` calls inside it come back to the calling thread as
before, so the ORM keeps its connection and transaction. The loop's Redis pool lives as long.

One loop per worker thread, not one per process: the local model, the embedder and the stream
guard run CPU-bound steps inside the loop, and one turn's step must not hold up another turn's
deltas (with a loop each, the threads interleave as they did with a loop per call).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading

from asgiref.sync import SyncToAsync

_local = threading.local()


class _ThreadLoop:
    """A loop running in a daemon thread; stopped when the owning thread ends (its locals are freed)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run(loop: asyncio.AbstractEventLoop = self.loop) -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            try:
                loop.run_forever()
            finally:
                loop.close()

        threading.Thread(target=run, name="switchboard-loop", daemon=True).start()
        ready.wait()

    def __del__(self) -> None:
        loop = self.loop
        if not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # closed meanwhile
                loop.call_soon_threadsafe(loop.stop)


def thread_loop() -> asyncio.AbstractEventLoop:
    """This thread's long-lived loop (started on first use, again after a fork)."""
    holder = getattr(_local, "holder", None)
    if holder is None or holder.pid != os.getpid() or holder.loop.is_closed():
        holder = _local.holder = _ThreadLoop()
    return holder.loop


def use_thread_loop() -> None:
    """Route this thread's `async_to_sync` calls to its long-lived loop.

    Left alone in a thread that already runs below a live event loop (the ASGI server's
    `sync_to_async` threads): their calls belong to that loop.
    """
    local = SyncToAsync.threadlocal
    current = getattr(local, "main_event_loop", None)
    if (
        current is not None
        and getattr(local, "main_event_loop_pid", None) == os.getpid()
        and not current.is_closed()
        and current.is_running()
    ):
        return
    try:
        asyncio.get_running_loop()
        return  # called from async code: nothing to route
    except RuntimeError:
        pass
    local.main_event_loop = thread_loop()
    local.main_event_loop_pid = os.getpid()
