"""Character sketches: a view's character 3-5-grams hashed with a sign into SKETCH_DIMENSIONS columns.

The same as scikit-learn's `HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=SKETCH_DIMENSIONS,
alternate_sign=True, norm="l2")` on the folded text, computed with numpy only (apps.core.ngrams): the sign keeps
collisions from adding up, so the cosine of two sketches approximates the cosine of their character n-gram
counts. The neighbour features (neighbours.py) read it to place a view among the training texts by how it is
spelled, whatever its language: the English embedder reads a German or Polish attack as noise, but its
character n-grams sit close to the other-language attacks the examples hold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from apps.core.ngrams import char_wb_ngrams, murmurhash3_32

from ..text import fold

SKETCH_DIMENSIONS = 512
NGRAMS = (3, 5)


def sketches(texts: Sequence[str]) -> np.ndarray:
    """(len(texts), SKETCH_DIMENSIONS) float32, each row of unit length (an empty text: zeros)."""
    out = np.zeros((len(texts), SKETCH_DIMENSIONS), dtype=np.float32)
    distinct: dict[str, int] = {}
    owners: list[int] = []
    ids: list[int] = []
    for row, text in enumerate(texts):
        for gram in char_wb_ngrams(fold(text), *NGRAMS):
            ids.append(distinct.setdefault(gram, len(distinct)))
            owners.append(row)
    if not ids:
        return out
    hashes = murmurhash3_32([g.encode("utf-8") for g in distinct]).astype(np.int64)
    # scikit-learn's _hashing_fast: abs(h) % n, with abs(-2**31) taken as 2**31 - 1 - (n - 1); the sign of h.
    columns = np.where(
        hashes == -(2**31),
        (2**31 - 1 - (SKETCH_DIMENSIONS - 1)) % SKETCH_DIMENSIONS,
        np.abs(hashes) % SKETCH_DIMENSIONS,
    )
    signs = np.where(hashes >= 0, 1.0, -1.0)
    index = np.asarray(ids, dtype=np.int64)
    np.add.at(out, (np.asarray(owners, dtype=np.int64), columns[index]), signs[index].astype(np.float32))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)
