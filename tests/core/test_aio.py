"""`async_to_sync` from a marked thread runs on that thread's long-lived loop (apps.core.aio)."""

from __future__ import annotations

import asyncio
import gc
import threading

from asgiref.sync import async_to_sync, sync_to_async

from apps.core.aio import thread_loop, use_thread_loop


def _in_fresh_thread(target):  # type: ignore[no-untyped-def]
    """Run `target` in a new plain thread (no asgiref state) and return its result."""
    out: dict[str, object] = {}

    def run() -> None:
        out["value"] = target()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    return out["value"]


async def _where() -> tuple[object, object]:
    on_caller = await sync_to_async(threading.get_ident, thread_sensitive=True)()
    return asyncio.get_running_loop(), on_caller


def test_calls_from_a_marked_thread_share_its_loop_and_tools_come_back_to_the_thread():
    # given a plain worker thread marked to use its long-lived loop
    def work() -> tuple[object, object, object, object, object]:
        use_thread_loop()
        # when it runs two awaitables
        first_loop, tool_thread = async_to_sync(_where)()
        second_loop, _ = async_to_sync(_where)()
        return first_loop, second_loop, thread_loop(), tool_thread, threading.get_ident()

    first_loop, second_loop, own_loop, tool_thread, caller = _in_fresh_thread(work)
    # then both ran on the thread's one loop, and thread-sensitive code ran on the calling thread
    assert first_loop is own_loop
    assert second_loop is first_loop
    assert tool_thread == caller


def test_two_threads_get_loops_of_their_own_and_a_finished_threads_loop_stops():
    # given two marked threads
    def work() -> object:
        use_thread_loop()
        return async_to_sync(_where)()[0]

    first = _in_fresh_thread(work)
    second = _in_fresh_thread(work)
    # when both threads have ended
    gc.collect()
    # then each had its own loop, and neither is left running
    assert first is not second
    for loop in (first, second):
        for _ in range(6000):
            if loop.is_closed():
                break
            threading.Event().wait(0.01)
        assert loop.is_closed()


def test_an_unmarked_thread_keeps_asgirefs_loop_per_call():
    # given a plain thread that is not marked
    async def running() -> object:
        return asyncio.get_running_loop()

    def work() -> tuple[object, object]:
        return async_to_sync(running)(), async_to_sync(running)()

    # when it runs two awaitables
    first, second = _in_fresh_thread(work)
    # then each ran on a loop of its own, closed after the call
    assert first is not second
    assert first.is_closed()
    assert second.is_closed()
