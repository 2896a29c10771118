"""Nearest-neighbour features of the learned detector: how close a view's embedding lies to the training
attacks and to the training benign texts.

A linear model over the embedding draws one plane through a space where attacks sit in many separate
pockets (a persona template, a polite request for the prompt, a task switch after praise) and customer
messages in others. The mean cosine similarity to the K nearest development attacks and to the K nearest
development benign texts, and their difference, tell it "close to a known kind of attack, far from every
customer message we know" (learned from the examples, no list of phrases). Out of fold this raised
recall at the same false-positive budgets (docs/guardrails.md, "Measuring").

The reference set is the development side of the split (`examples.split`), stored with the weights in
`reference.npz` as int8 (a unit vector's components times 127: 1.5 MB compressed for 6,000 texts,
cosines within 0.02); training reads the same quantised vectors, so serving and calibration agree. A text is
never its own neighbour while fitting (`exclude_self`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

K = 5
SCALE = 2.0  # the three features next to unit-norm embeddings and l2-normalised hashed blocks
FEATURES = 3  # nearest attacks, nearest benign texts, their difference
REFERENCE_PATH = Path(__file__).resolve().parent / "reference.npz"
SMALL_BATCH = 16


@dataclass(frozen=True, slots=True)
class Reference:
    vectors: np.ndarray  # (n, 384) float32, de-quantised
    labels: np.ndarray  # (n,) 1 attack, 0 benign

    @classmethod
    def of(cls, vectors: np.ndarray, labels: np.ndarray) -> Reference:
        """The reference as serving reads it: quantised to int8 and back."""
        return cls(vectors=dequantise(quantise(vectors)), labels=np.asarray(labels, dtype=np.int8))

    def subset(self, rows: np.ndarray) -> Reference:
        return Reference(vectors=self.vectors[rows], labels=self.labels[rows])


def quantise(vectors: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(vectors, dtype=np.float32) * 127.0), -127, 127).astype(np.int8)


def dequantise(quantised: np.ndarray) -> np.ndarray:
    return quantised.astype(np.float32) / 127.0


def save_reference(reference: Reference, path: Path = REFERENCE_PATH) -> None:
    np.savez_compressed(path, vectors=quantise(reference.vectors), labels=reference.labels.astype(np.int8))


def load_reference(path: Path = REFERENCE_PATH) -> Reference:
    with np.load(path) as data:
        return Reference(vectors=dequantise(data["vectors"]), labels=data["labels"].astype(np.int8))


def neighbour_features(
    vectors: np.ndarray, reference: Reference, *, exclude_self: np.ndarray | None = None
) -> np.ndarray:
    """(len(vectors), FEATURES), scaled: mean cosine to the K nearest reference attacks, to the K nearest
    benign reference texts, and the first minus the second. `exclude_self[i]` is the reference row of
    vectors[i] (training: a text is not its own neighbour)."""
    out = np.zeros((len(vectors), FEATURES), dtype=np.float32)
    if not len(vectors):
        return out
    vectors = np.asarray(vectors, dtype=np.float32)
    if len(vectors) <= SMALL_BATCH:
        # Serving (a message's few views): numpy's loop, not BLAS. OpenBLAS's two threads on a busy 2-core
        # host took 8 ms of CPU for one view against 6,000 rows; this takes 0.5 ms.
        similarity = np.einsum("ij,kj->ik", vectors, reference.vectors)
    else:  # training and the benchmark: thousands of rows, where BLAS wins
        similarity = vectors @ reference.vectors.T
    if exclude_self is not None:
        similarity[np.arange(len(vectors)), exclude_self] = -1.0
    for column, label in enumerate((1, 0)):
        block = similarity[:, reference.labels == label]
        k = min(K, block.shape[1])
        if k:
            out[:, column] = -np.partition(-block, k - 1, axis=1)[:, :k].mean(axis=1)
    out[:, 2] = out[:, 0] - out[:, 1]
    return out * SCALE
