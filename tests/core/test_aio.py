"""`async_to_sync` from a marked thread runs on the process's one loop (apps.core.aio)."""

from __future__ import annotations

import asyncio
import threading

from asgiref.sync import SyncToAsync, async_to_sync, sync_to_async

from apps.core.aio import process_loop, use_process_loop


def _in_fresh_thread(target):  # type: ignore[no-untyped-def]
    """Run `target` in a new plain thread (no asgiref state) and return its result."""
    out: dict[str, object] = {}

    def run() -> None:
        out["value"] = target()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    return out["value"]


def test_calls_from_a_marked_thread_share_the_process_loop_and_tools_come_back_to_the_thread():
    # given a plain worker thread marked to use the process loop
    def work() -> tuple[object, object, object, object]:
        use_process_loop()
        caller = threading.get_ident()

        async def where() -> tuple[object, object]:
            on_caller = await sync_to_async(threading.get_ident, thread_sensitive=True)()
            return asyncio.get_running_loop(), on_caller

        # when it runs two awaitables
        first_loop, first_tool_thread = async_to_sync(where)()
        second_loop, _ = async_to_sync(where)()
        return first_loop, second_loop, first_tool_thread, caller

    first_loop, second_loop, tool_thread, caller = _in_fresh_thread(work)
    # then both ran on the one long-lived loop, and thread-sensitive code ran on the calling thread
    assert first_loop is process_loop()
    assert second_loop is first_loop
    assert tool_thread == caller


def test_an_unmarked_thread_keeps_asgirefs_loop_per_call():
    # given a plain thread that is not marked
    def work() -> tuple[object, object]:
        async def loop() -> object:
            return asyncio.get_running_loop()

        return async_to_sync(loop)(), getattr(SyncToAsync.threadlocal, "main_event_loop", None)

    # when it runs an awaitable
    used, marked = _in_fresh_thread(work)
    # then a loop of its own ran it, not the process loop
    assert used is not process_loop()
    assert marked is None
