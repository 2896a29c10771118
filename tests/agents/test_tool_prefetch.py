"""A model response's calls to one tool warm what they read together before they run (`ToolSpec.prefetch`): the help
center's queries embedded in one encode instead of one per search (issue 14)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic_ai.messages import ToolCallPart

from apps.agents.local_run import _prefetch
from apps.agents.tools import read_tool
from apps.knowledge.embeddings import embed_queries_ahead


def _tools(prefetch: Any) -> dict[str, tuple[Any, Any]]:
    @read_tool(prefetch=prefetch)
    def lookup(ctx: Any, query: str) -> dict[str, Any]:
        return {}

    return {"lookup": (lookup, None)}


def test_calls_to_one_tool_in_one_response_are_prefetched_together():
    # given
    seen: list[list[dict[str, Any]]] = []
    tools = _tools(seen.append)
    calls = [ToolCallPart("lookup", '{"query": "a"}'), ToolCallPart("lookup", {"query": "b"})]
    # when
    _prefetch(tools, calls)
    # then
    assert seen == [[{"query": "a"}, {"query": "b"}]]


def test_a_single_call_or_an_unknown_tool_prefetches_nothing():
    # given
    seen: list[list[dict[str, Any]]] = []
    tools = _tools(seen.append)
    # when
    _prefetch(tools, [ToolCallPart("lookup", '{"query": "a"}'), ToolCallPart("nope", '{"query": "b"}')])
    # then
    assert seen == []


def test_a_failing_prefetch_does_not_fail_the_calls():
    # given
    def broken(arguments: list[dict[str, Any]]) -> None:
        raise RuntimeError("embedding server down")

    tools = _tools(broken)
    # when
    _prefetch(tools, [ToolCallPart("lookup", '{"query": "a"}'), ToolCallPart("lookup", "not json")])
    _prefetch(tools, [ToolCallPart("lookup", '{"query": "a"}'), ToolCallPart("lookup", '{"query": "b"}')])
    # then: nothing raised


class _Backend:
    name = "fake"
    dimensions = 3

    def __init__(self, *, remembers_recent: bool) -> None:
        self.remembers_recent = remembers_recent
        self.batches: list[list[str]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return np.zeros((len(texts), 3), dtype=np.float32)


def test_queries_are_embedded_ahead_in_one_batch_as_the_search_embeds_them():
    # given
    backend = _Backend(remembers_recent=True)
    # when
    embed_queries_ahead(["where  is my\norder", "returns", "where is my order", "  ", None], backend=backend)
    # then
    assert backend.batches == [["where is my order", "returns"]]


def test_queries_are_not_embedded_ahead_for_a_backend_without_memory_or_for_one_query():
    # given
    paid = _Backend(remembers_recent=False)
    local = _Backend(remembers_recent=True)
    # when
    embed_queries_ahead(["where is my order", "returns"], backend=paid)
    embed_queries_ahead(["where is my order"], backend=local)
    # then
    assert paid.batches == []
    assert local.batches == []
