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

from apps.core.ngrams import char_wb_ngrams, hashed_counts

from ..text import fold

SKETCH_DIMENSIONS = 512
NGRAMS = (3, 5)


def sketches(texts: Sequence[str]) -> np.ndarray:
    """(len(texts), SKETCH_DIMENSIONS) float32, each row of unit length (an empty text: zeros)."""
    grams = (char_wb_ngrams(fold(t), *NGRAMS) for t in texts)
    return hashed_counts(grams, SKETCH_DIMENSIONS, alternate_sign=True).toarray(np.float32)
