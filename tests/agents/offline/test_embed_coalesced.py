"""Routing texts of concurrent turns share one encode (apps.agents.offline.embedder.embed_coalesced)."""

from __future__ import annotations

import threading
import time

import numpy as np

from apps.agents.offline import embedder


def _wait_for(predicate, limit: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "the waiting threads never queued"
        time.sleep(0.005)


def test_texts_arriving_during_an_encode_are_embedded_together_in_the_next_batch(monkeypatch):
    # given an encode in progress that waits for our signal
    release = threading.Event()
    batches: list[list[str]] = []

    def fake_embed(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        batches.append(list(texts))
        if len(batches) == 1:
            release.wait(60)
        return np.array([[float(len(t))] for t in texts], dtype=np.float32)

    monkeypatch.setattr(embedder, "embed", fake_embed)
    monkeypatch.setattr(embedder, "_coalescer", embedder._Coalescer())
    results: dict[str, np.ndarray] = {}

    def call(name: str, texts: list[str]) -> None:
        results[name] = embedder.embed_coalesced(texts)

    first = threading.Thread(target=call, args=("first", ["a"]))
    first.start()
    _wait_for(lambda: len(batches) == 1)
    # when two more turns ask while it runs
    others = [
        threading.Thread(target=call, args=("second", ["bb", "ccc"])),
        threading.Thread(target=call, args=("third", ["dddd"])),
    ]
    for thread in others:
        thread.start()
    _wait_for(lambda: len(embedder._coalescer._queue) == 2)
    release.set()
    for thread in (first, *others):
        thread.join(60)
    # then they were embedded in one batch, and each got its own rows
    assert batches[0] == ["a"]
    assert sorted(batches[1]) == ["bb", "ccc", "dddd"]
    assert len(batches) == 2
    assert results["first"].tolist() == [[1.0]]
    assert results["second"].tolist() == [[2.0], [3.0]]
    assert results["third"].tolist() == [[4.0]]


def test_an_encode_error_reaches_every_caller_of_the_batch_and_the_next_caller_encodes_afresh(monkeypatch):
    # given an encoder that fails once
    calls: list[list[str]] = []

    def flaky(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
        calls.append(list(texts))
        if len(calls) == 1:
            raise RuntimeError("model gone")
        return np.ones((len(texts), 1), dtype=np.float32)

    monkeypatch.setattr(embedder, "embed", flaky)
    monkeypatch.setattr(embedder, "_coalescer", embedder._Coalescer())
    # when one call fails and the next one follows
    try:
        embedder.embed_coalesced(["x"])
        raised = ""
    except RuntimeError as exc:
        raised = str(exc)
    again = embedder.embed_coalesced(["y"])
    # then the first caller got the error and the second a fresh encode
    assert raised == "model gone"
    assert again.tolist() == [[1.0]]
    assert calls == [["x"], ["y"]]


def test_a_text_embedded_again_soon_is_not_encoded_again(monkeypatch):
    # given a counting stand-in model and an empty memory of recent texts
    encoded: list[list[str]] = []

    class Model:
        def encode(self, texts: list[str], **kwargs: object) -> np.ndarray:
            encoded.append(list(texts))
            return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)

    monkeypatch.setattr(embedder, "_model", Model())
    monkeypatch.setattr(embedder, "_recent", embedder.OrderedDict())
    # when one turn embeds its text for routing, then for the search with a new one beside it
    routing = embedder.embed(["do you ship to norway?"])
    search = embedder.embed(["do you ship to norway?", "returns"])
    # then the model ran once per distinct text, and both callers got the same vector
    assert encoded == [["do you ship to norway?"], ["returns"]]
    assert routing.tolist() == [[22.0, 1.0]]
    assert search.tolist() == [[22.0, 1.0], [7.0, 1.0]]
