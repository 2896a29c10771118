"""Nearest-neighbour features of the learned detector: how close a view lies to the training attacks and to
the training benign texts, read twice: by its MiniLM embedding (what it means, in English) and by its
character sketch (how it is spelled, in any language: sketch.py).

A linear model over the embedding draws one plane through a space where attacks sit in many separate
pockets (a persona template, a polite request for the prompt, a task switch after praise) and customer
messages in others. The mean cosine similarity to the K nearest development attacks and to the K nearest
development benign texts, and their difference, tell it "close to a known kind of attack, far from every
customer message we know" (learned from the examples, no list of phrases). Out of fold this raised
recall at the same false-positive budgets (docs/guardrails.md, "Measuring").

The English embedder reads a German, Polish or Japanese attack as noise, near everything and nothing; the
same pocket-finding on character sketches places it next to the other-language attacks (and customer
messages) the examples hold. Out of fold, and training without one writer's examples to score that writer's,
the sketch neighbours raised recall at the same false-positive budgets more than any other change tried
(docs/guardrails.md, "Measuring").

The reference set is the development side of the split (`examples.split`), stored with the weights in
`reference.npz` as int8 (a unit vector's components times 127; a sketch's, whose components are small and
uneven, scaled per row so its largest is 127; cosines within 0.02); training reads the same quantised
vectors, so serving and calibration agree. A text is never its own neighbour while fitting (`exclude_self`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

K = 5
SCALE = 2.0  # the features next to unit-norm embeddings and l2-normalised hashed blocks
FEATURES = 6  # nearest attacks, nearest benign texts, their difference: by embedding, then by sketch
REFERENCE_PATH = Path(__file__).resolve().parent / "reference.npz"
SMALL_BATCH = 16


@dataclass(frozen=True, slots=True)
class Reference:
    vectors: np.ndarray  # (n, 384) float32, de-quantised
    labels: np.ndarray  # (n,) 1 attack, 0 benign
    sketches: np.ndarray  # (n, SKETCH_DIMENSIONS) float32, de-quantised

    @classmethod
    def of(cls, vectors: np.ndarray, labels: np.ndarray, sketches: np.ndarray) -> Reference:
        """The reference as serving reads it: quantised to int8 and back."""
        return cls(
            vectors=dequantise(quantise(vectors)),
            labels=np.asarray(labels, dtype=np.int8),
            sketches=dequantise_rows(*quantise_rows(sketches)),
        )

    def subset(self, rows: np.ndarray) -> Reference:
        return Reference(vectors=self.vectors[rows], labels=self.labels[rows], sketches=self.sketches[rows])


def quantise(vectors: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(vectors, dtype=np.float32) * 127.0), -127, 127).astype(np.int8)


def dequantise(quantised: np.ndarray) -> np.ndarray:
    return quantised.astype(np.float32) / 127.0


def quantise_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows scaled so each row's largest component is 127, and each row's scale (float32)."""
    rows = np.asarray(rows, dtype=np.float32)
    scales = np.abs(rows).max(axis=1, initial=0.0) / 127.0
    safe = np.where(scales > 0, scales, 1.0)[:, None]
    return np.clip(np.rint(rows / safe), -127, 127).astype(np.int8), scales.astype(np.float32)


def dequantise_rows(quantised: np.ndarray, scales: np.ndarray) -> np.ndarray:
    return quantised.astype(np.float32) * scales[:, None]


def save_reference(reference: Reference, path: Path = REFERENCE_PATH) -> None:
    sketches, sketch_scales = quantise_rows(reference.sketches)
    np.savez_compressed(
        path,
        vectors=quantise(reference.vectors),
        labels=reference.labels.astype(np.int8),
        sketches=sketches,
        sketch_scales=sketch_scales,
    )


def load_reference(path: Path = REFERENCE_PATH) -> Reference:
    """The reference as serving reads it, held column-major: a message's few views are then one BLAS product
    against each matrix's contiguous transpose (`_similarity`). The same values as `dequantise(_rows)` gives."""
    with np.load(path) as data:
        vectors = np.asfortranarray(data["vectors"]).astype(np.float32, order="K")
        vectors /= 127.0
        sketches = np.asfortranarray(data["sketches"]).astype(np.float32, order="K")
        sketches *= data["sketch_scales"][:, None]
        return Reference(vectors=vectors, labels=data["labels"].astype(np.int8), sketches=sketches)


def _similarity(rows: np.ndarray, reference_rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float32)
    if len(rows) <= SMALL_BATCH:
        if reference_rows.flags.f_contiguous:
            # Serving (`load_reference`): one BLAS thread (SWITCHBOARD_NUMERIC_THREADS) over the contiguous
            # transpose. Against 11,347 rows, one view 1.1 against 2.0 ms of CPU with einsum, two views 3.0
            # against 4.0 ms (load 15, cpu14h); the similarities equal einsum's within 2e-6.
            return rows @ reference_rows.T
        # a few views against a row-major reference: numpy's loop (a BLAS product over a transposed view is slower)
        return np.einsum("ij,kj->ik", rows, reference_rows)
    return rows @ reference_rows.T  # training and the benchmark: thousands of rows, where BLAS wins


def _nearest(similarity: np.ndarray, labels: np.ndarray, exclude_self: np.ndarray | None) -> np.ndarray:
    """(len(similarity), 3): mean of the K highest similarities to attacks, to benign texts, the difference."""
    out = np.zeros((len(similarity), 3), dtype=np.float32)
    if exclude_self is not None:
        similarity[np.arange(len(similarity)), exclude_self] = -1.0
    for column, label in enumerate((1, 0)):
        block = similarity[:, labels == label]
        k = min(K, block.shape[1])
        if k:
            out[:, column] = -np.partition(-block, k - 1, axis=1)[:, :k].mean(axis=1)
    out[:, 2] = out[:, 0] - out[:, 1]
    return out


def neighbour_features(
    vectors: np.ndarray, sketches: np.ndarray, reference: Reference, *, exclude_self: np.ndarray | None = None
) -> np.ndarray:
    """(len(vectors), FEATURES), scaled: by embedding and then by character sketch, the mean cosine to the K
    nearest reference attacks, to the K nearest benign reference texts, and the first minus the second.
    `exclude_self[i]` is the reference row of vectors[i] (training: a text is not its own neighbour)."""
    if not len(vectors):
        return np.zeros((0, FEATURES), dtype=np.float32)
    by_meaning = _nearest(_similarity(vectors, reference.vectors), reference.labels, exclude_self)
    by_spelling = _nearest(_similarity(sketches, reference.sketches), reference.labels, exclude_self)
    return np.hstack([by_meaning, by_spelling]) * SCALE
