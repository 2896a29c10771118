import threading
import time

import numpy as np
import pytest

from apps.agents.offline import embedder, minilm, packed
from apps.agents.routing import classifier as classifier_module


def _in_threads(fn, n: int = 6) -> list:
    results: list = []
    barrier = threading.Barrier(n)

    def run() -> None:
        barrier.wait()
        results.append(fn())

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_the_embedding_model_is_loaded_once_under_concurrent_first_use(monkeypatch):
    # given no model loaded yet and a slow loader that counts its calls
    loads: list[str] = []

    class SlowModel:
        def __init__(self) -> None:
            loads.append("loaded")
            time.sleep(0.05)

    monkeypatch.setattr(embedder, "_model", None)
    monkeypatch.setattr(minilm, "MiniLM", SlowModel)

    # when six threads ask at once
    models = _in_threads(embedder.get_embedder)

    # then one load, one shared instance
    assert loads == ["loaded"]
    assert len({id(m) for m in models}) == 1


def test_the_route_classifier_is_built_once_under_concurrent_first_use(monkeypatch):
    calls: list[int] = []

    def slow_load(directory, cache_dir):
        calls.append(1)
        time.sleep(0.05)
        return object()

    monkeypatch.setattr(classifier_module, "_classifier", None)
    monkeypatch.setattr(classifier_module, "_load_or_train", slow_load)

    instances = _in_threads(classifier_module.get_classifier)

    assert calls == [1]
    assert len({id(i) for i in instances}) == 1


@pytest.mark.slow
def test_embed_returns_normalised_384_dimension_vectors():
    vectors = embedder.embed(["where is my order", "refund please"])

    assert vectors.shape == (2, 384)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, 384)


@pytest.mark.slow
def test_texts_the_tokenizer_reads_alike_run_the_model_once_and_get_the_same_vector(monkeypatch):
    # given a model whose packed runs are recorded (the tokenizer lowercases: these read alike)
    model = embedder.get_embedder()
    encoded: list[int] = []
    real_packed = packed.packed_encode

    def recording_packed(model, sequences):
        encoded.append(len(sequences))
        return real_packed(model, sequences)

    monkeypatch.setattr(packed, "packed_encode", recording_packed)
    texts = ["Do you ship to Norway?", "do you ship to norway?", "Thanks!", "DO YOU SHIP TO NORWAY?"]

    # when
    vectors = embedder._model_encode(model, texts, batch_size=64)

    # then
    assert encoded == [2]
    assert vectors.shape == (4, 384)
    assert np.array_equal(vectors[0], vectors[1])
    assert np.array_equal(vectors[0], vectors[3])
    alone = real_packed(model, packed.token_sequences(model, ["Thanks!"]))
    assert np.allclose(vectors[2], alone[0], atol=1e-6)
