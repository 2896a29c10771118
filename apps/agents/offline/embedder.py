"""The packaged all-MiniLM-L6-v2 sentence embedder, loaded once per process (or once per machine).

Importing torch costs seconds and the model with torch about 0.4 GiB, so nothing is loaded at import
time: the first caller of `get_embedder()` pays, under a lock so concurrent threads never load it twice.
The model runs as `apps.agents.offline.minilm` holds it (its tokenizer and BERT layers in torch, without
sentence-transformers), its texts packed side by side (`apps.agents.offline.packed`).

With `SWITCHBOARD_EMBEDDING_SERVER` set, `embed` asks the machine's embedding server
(`manage.py embedding_server`, apps.agents.offline.model_server) and this process never loads
torch. When the server cannot be reached, `embed` loads the model here and goes on (logged),
unless `SWITCHBOARD_EMBEDDING_SERVER_FALLBACK` is off: then it raises `EmbeddingServerUnavailable`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np

from apps.agents.offline.model_server import EmbeddingClient, EmbeddingServerUnavailable
from apps.core.allocator import limit_heap_retention

if TYPE_CHECKING:
    from apps.agents.offline.minilm import MiniLM

logger = logging.getLogger(__name__)

MODEL_ID = "all-MiniLM-L6-v2"
DIMENSIONS = 384

_lock = threading.Lock()
_model: MiniLM | None = None


def _limit_torch_threads() -> None:
    """One intra-op thread per process by default: workers scale by processes, and on a shared
    2-core host single-message encoding went from 106/476 ms (p50/p95, 2 threads) to 28/44 ms."""
    threads = _threads if _threads is not None else int(str(_setting("SWITCHBOARD_EMBEDDING_THREADS", 1)))
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def get_embedder() -> MiniLM:
    """The process-wide model (CPU, offline)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                from apps.agents.offline.minilm import MiniLM

                _limit_torch_threads()
                limit_heap_retention()  # each batch's activations are given back, not kept in the threads' arenas
                _model = MiniLM()
    return _model


def embed(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """Unit-normalised float32 embeddings, shape (len(texts), 384).

    The last `RECENT_TEXTS` texts are remembered: one turn embeds its customer text for routing
    and again for the help-center search (and the detector); the model runs once for it.
    """
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    found: dict[str, np.ndarray] = {}
    with _recent_lock:
        for text in texts:
            vector = _recent.get(text)
            if vector is not None:
                _recent.move_to_end(text)
                found[text] = vector
    missing = list(dict.fromkeys(t for t in texts if t not in found))
    if missing:
        vectors = _encode(missing, batch_size=batch_size)
        with _recent_lock:
            for text, vector in zip(missing, vectors, strict=True):
                vector.setflags(write=False)
                found[text] = _recent[text] = vector
            while len(_recent) > RECENT_TEXTS:
                _recent.popitem(last=False)
    return np.stack([found[t] for t in texts])


def _setting(name: str, default: object) -> object:
    try:
        from django.conf import settings

        return getattr(settings, name, default)
    except Exception:  # noqa: BLE001 - usable without Django (bench scripts, notebooks)
        return default


_serving = False  # true in the embedding server's own process: it runs the model itself
_threads: int | None = None  # the server's torch threads, given without Django settings
_clients: dict[str, EmbeddingClient] = {}
_last_fallback_warning = 0.0


def serve_here(*, threads: int | None = None) -> None:
    """This process is the embedding server: `embed` runs the model here whatever the settings say, with
    `threads` torch threads when given (else `SWITCHBOARD_EMBEDDING_THREADS` from the settings)."""
    global _serving, _threads
    _serving = True
    _threads = threads


def _server_address() -> str:
    return "" if _serving else str(_setting("SWITCHBOARD_EMBEDDING_SERVER", "") or "")


def _encode(texts: list[str], *, batch_size: int) -> np.ndarray:
    global _last_fallback_warning
    address = _server_address()
    if address:
        client = _clients.get(address) or _clients.setdefault(address, EmbeddingClient(address))
        try:
            return client.embed(texts, batch_size=batch_size)
        except EmbeddingServerUnavailable:
            if not _setting("SWITCHBOARD_EMBEDDING_SERVER_FALLBACK", True):
                raise
            if time.monotonic() - _last_fallback_warning > 60:
                _last_fallback_warning = time.monotonic()
                logger.warning(
                    "embedding server at %s unreachable: embedding in this process (loads the model here)",
                    address,
                    exc_info=True,
                )
    return _model_encode(get_embedder(), texts, batch_size=batch_size)


def _model_encode(model: MiniLM, texts: list[str], *, batch_size: int) -> np.ndarray:
    """The model's vectors for `texts` (`MiniLM.encode`: once per distinct token sequence, packed)."""
    return np.asarray(model.encode(texts, batch_size=batch_size), dtype=np.float32)


RECENT_TEXTS = 2048
_recent: OrderedDict[str, np.ndarray] = OrderedDict()
_recent_lock = threading.Lock()


class _Coalescer:
    """Texts from concurrent turns of one process embedded in one batch, with no added wait.

    The first caller while the model is idle embeds its texts at once. Callers arriving while an
    encode runs queue theirs; when it ends, one of them takes the whole queue as the next batch.
    A batch of 8 costs about 4-5 ms a text against 11 ms for one text alone (issue 14).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._busy = False
        self._queue: list[tuple[list[str], dict[str, object]]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        slot: dict[str, object] = {}
        with self._cond:
            self._queue.append((texts, slot))
            while self._busy and "vectors" not in slot and "error" not in slot:
                self._cond.wait()
            if "vectors" in slot or "error" in slot:
                return self._result(slot)
            self._busy = True
            batch, self._queue = self._queue, []
        try:
            flat = [t for texts_of, _ in batch for t in texts_of]
            vectors = embed(flat)
            start = 0
            results = []
            for texts_of, their_slot in batch:
                results.append((their_slot, vectors[start : start + len(texts_of)]))
                start += len(texts_of)
        except BaseException as exc:  # noqa: BLE001 - every waiter of this batch gets the error
            results = [(their_slot, exc) for _, their_slot in batch]
        with self._cond:
            for their_slot, value in results:
                their_slot["error" if isinstance(value, BaseException) else "vectors"] = value
            self._busy = False
            self._cond.notify_all()
        return self._result(slot)

    @staticmethod
    def _result(slot: dict[str, object]) -> np.ndarray:
        if "error" in slot:
            raise slot["error"]  # type: ignore[misc]
        return slot["vectors"]  # type: ignore[return-value]


_coalescer = _Coalescer()


def embed_coalesced(texts: list[str]) -> np.ndarray:
    """`embed(texts)`, batched with whatever other threads of this process are embedding at the same time."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    return _coalescer.embed(list(texts))


def embed_for_clients(texts: list[str], batch_size: int = 64) -> np.ndarray:
    """The embedding server's answer: requests at the default batch size share encodes across processes."""
    return embed_coalesced(texts) if batch_size == 64 else embed(texts, batch_size=batch_size)
