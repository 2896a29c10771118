"""A disk cache of MiniLM vectors for training and the benchmark (never used when serving).

The embedder is fixed; only the detector's weights change between runs. Training and
`bench/bench_guardrails.py` embed the same few tens of thousands of views each time, so
they install this cache in place of `model.embed` (`installed()`): vectors are kept by
the sha256 of the text in `var/cache/injection_detector_embeddings.npz`, misses are
embedded in one batched call. Delete the file to time the embeddings again.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

CACHE_PATH = Path(__file__).resolve().parents[3] / "var" / "cache" / "injection_detector_embeddings.npz"
DIMENSIONS = 384


class EmbeddingCache:
    def __init__(self, path: Path = CACHE_PATH) -> None:
        self.path = path
        self.vectors: dict[str, np.ndarray] = {}
        self.dirty = False
        self.bypass = False  # latency samples embed live, one text at a time, as a worker does
        if path.is_file():
            with np.load(path) as data:
                self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def __call__(self, texts: list[str]) -> np.ndarray:
        from apps.agents.offline.embedder import embed

        if self.bypass:
            return embed(texts)
        keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in self.vectors}.items())
        if missing:
            loud = len(missing) > 256
            if loud:
                sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] embedding {len(missing)} texts\n")
            started = time.process_time()
            vectors = embed([t for _, t in missing], batch_size=64)
            if loud:
                sys.stderr.write(f"  {time.process_time() - started:.0f} s CPU\n")
            self.vectors.update(zip((k for k, _ in missing), vectors, strict=True))
            self.dirty = True
            if loud:  # a long run's other processes (training beside a benchmark) can read them now
                self.save()
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        return np.stack([self.vectors[k] for k in keys])

    def save(self) -> None:
        if not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_file():  # another run (training, the benchmark) may have saved vectors meanwhile
            with np.load(self.path) as data:
                for key, vector in zip(data["keys"].tolist(), data["vectors"], strict=True):
                    self.vectors.setdefault(key, vector)
        keys = sorted(self.vectors)
        np.savez(self.path, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))
        self.dirty = False


@contextmanager
def installed(path: Path = CACHE_PATH) -> Iterator[EmbeddingCache]:
    """Use the cache for every embedding the detector computes inside the block; saved on the way out."""
    from . import model

    cache = EmbeddingCache(path)
    original = model.embed
    model.embed = cache
    try:
        yield cache
    finally:
        model.embed = original
        cache.save()
