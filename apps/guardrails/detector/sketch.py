"""Character sketches: a view's character 3-5-grams hashed with a sign into SKETCH_DIMENSIONS columns.

The same as scikit-learn's `HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=SKETCH_DIMENSIONS,
alternate_sign=True, norm="l2")` on the text's `spelling`, computed with numpy only (apps.core.ngrams): the sign
keeps collisions from adding up, so the cosine of two sketches approximates the cosine of their character n-gram
counts. The neighbour features (neighbours.py) read it to place a view among the training texts by how it is
spelled, whatever its language: the English embedder reads a German or Polish attack as noise, but its
character n-grams sit close to the other-language attacks the examples hold.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np
from anyascii import anyascii

from apps.core.ngrams import char_wb_ngrams, hashed_counts

from ..text import fold

SKETCH_DIMENSIONS = 512
NGRAMS = (3, 5)


def spelling(text: str) -> str:
    """The folded text and, when it holds letters of a script other than Latin, its Latin transliteration
    beside it (anyascii: "инструкции" -> "instruktsii", "निर्देश" -> "nirdesh"). Words an attack shares across
    languages ("instruktsii", "sistemnyy prompt", "administrator") then share character n-grams with the
    Latin-script examples, so the hashed n-grams and the sketch carry a language the examples barely hold."""
    folded = fold(text)
    if folded.isascii() or not any(other_script(ch) for ch in folded):
        return folded
    # From the text as written: fold() has already turned Cyrillic look-alikes into Latin letters.
    latin = fold(anyascii(text))
    return folded if latin == folded else f"{folded} {latin}"


def other_script(ch: str) -> bool:
    """A letter of a script other than Latin (Cyrillic, Greek, Arabic, Devanagari, CJK, ...)."""
    return ch.isalpha() and not ch.isascii() and not unicodedata.name(ch, "LATIN").startswith("LATIN")


def sketches(texts: Sequence[str]) -> np.ndarray:
    """(len(texts), SKETCH_DIMENSIONS) float32, each row of unit length (an empty text: zeros)."""
    grams = (char_wb_ngrams(spelling(t), *NGRAMS) for t in texts)
    return hashed_counts(grams, SKETCH_DIMENSIONS, alternate_sign=True).toarray(np.float32)
