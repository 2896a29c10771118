"""One long-lived event loop per process for sync code that awaits (channel-layer sends, the agent's run).

`asgiref.async_to_sync` called from a plain thread starts a new thread and a new event loop per call,
and channels_redis opens a new Redis connection pool for every loop it sees: three of them per turn.
A thread marked with `use_process_loop()` hands its `async_to_sync` calls to this process's loop
instead (asgiref's own path for a sync thread below an event loop): the awaitable runs there, and
thread-sensitive `sync_to_async` calls inside it come back to the calling thread as before, so the
ORM keeps its connection and transaction. The loop and its Redis pool live as long as the process.
"""

from __future__ import annotations

import asyncio
import os
import threading

from asgiref.sync import SyncToAsync

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_pid = 0


def process_loop() -> asyncio.AbstractEventLoop:
    """The process's loop, running in a daemon thread (started on first use, again after a fork)."""
    global _loop, _pid
    with _lock:
        if _loop is None or _pid != os.getpid() or _loop.is_closed():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            threading.Thread(target=run, name="switchboard-loop", daemon=True).start()
            ready.wait()
            _loop, _pid = loop, os.getpid()
        return _loop


def use_process_loop() -> None:
    """Route this thread's `async_to_sync` calls to the process loop.

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
    local.main_event_loop = process_loop()
    local.main_event_loop_pid = os.getpid()
