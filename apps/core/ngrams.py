"""Text n-grams, feature hashing and sparse rows with numpy only, for the learned classifiers' inference.

The classifiers are fitted with scikit-learn (`TfidfVectorizer`, `HashingVectorizer`, `LogisticRegression`) in
training, but a turn worker never imports scikit-learn or SciPy (together about 84 MiB of resident memory per
process): it reads the text with these functions, which reproduce scikit-learn's analyzers, its signed
MurmurHash3 feature hashing and its L2 normalisation exactly (tests/core/test_ngrams.py compares them with
scikit-learn's own), and multiplies by the exported coefficients.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

_WHITE_SPACES = re.compile(r"\s\s+")
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern


def char_wb_ngrams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's `analyzer="char_wb"` with `lowercase=True`: character n-grams inside space-padded words.

    A message's views are read twice with the same n-grams (the injection detector's hashed characters and its
    sketch): the last short texts' n-grams are kept, and each caller gets a list of its own."""
    if len(text) > _RECENT_NGRAMS_CHARS:
        return list(_char_wb_ngrams(text, low, high))
    key = (text, low, high)
    found = _RECENT_NGRAMS.get(key)
    if found is None:
        found = _char_wb_ngrams(text, low, high)
        if len(_RECENT_NGRAMS) >= _RECENT_NGRAMS_MAX:
            _RECENT_NGRAMS.clear()
        _RECENT_NGRAMS[key] = found
    return list(found)


# A turn's views are read twice within milliseconds: a few dozen texts of at most 1,000 characters (about 0.2 MiB of
# n-grams each at worst) are enough, and bound the memory to a few MiB.
_RECENT_NGRAMS: dict[tuple[str, int, int], tuple[str, ...]] = {}
_RECENT_NGRAMS_MAX = 32
_RECENT_NGRAMS_CHARS = 1000


def _char_wb_ngrams(text: str, low: int, high: int) -> tuple[str, ...]:
    text = _WHITE_SPACES.sub(" ", text.lower())
    ngrams: list[str] = []
    append = ngrams.append
    for word in text.split():
        word = " " + word + " "
        length = len(word)
        for n in range(low, high + 1):
            offset = 0
            append(word[offset : offset + n])
            while offset + n < length:
                offset += 1
                append(word[offset : offset + n])
            if offset == 0:  # a short word (length < n) counts once
                break
    return tuple(ngrams)


def word_ngrams(text: str, low: int, high: int) -> list[str]:
    """scikit-learn's `analyzer="word"` with its default token pattern and `lowercase=True`."""
    tokens = _TOKEN.findall(text.lower())
    if high == 1:
        return tokens if low == 1 else []
    out = list(tokens) if low == 1 else []
    for n in range(max(low, 2), min(high + 1, len(tokens) + 1)):
        out.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return out


# --- MurmurHash3 (x86, 32 bit), as scikit-learn's HashingVectorizer hashes features -------------------------

_C1, _C2 = np.uint32(0xCC9E2D51), np.uint32(0x1B873593)


def _rotl(x: np.ndarray, r: int) -> np.ndarray:
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _mix(k: np.ndarray) -> np.ndarray:
    return _rotl(k * _C1, 15) * _C2


def murmurhash3_32(keys: Sequence[bytes], seed: int = 0) -> np.ndarray:
    """Signed 32-bit MurmurHash3 of each key (scikit-learn's `murmurhash3_32(key, seed)`), vectorised per key
    length."""
    out = np.zeros(len(keys), dtype=np.int32)
    if not keys:
        return out
    lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
    for length in np.unique(lengths):
        where = np.nonzero(lengths == length)[0]
        size = int(length)
        raw = np.frombuffer(b"".join(keys[i] for i in where), dtype=np.uint8).reshape(len(where), size)
        h = np.full(len(where), seed, dtype=np.uint32)
        blocks = size // 4
        if blocks:
            words = np.ascontiguousarray(raw[:, : blocks * 4]).view("<u4")
            for b in range(blocks):
                h ^= _mix(words[:, b].astype(np.uint32))
                h = _rotl(h, 13) * np.uint32(5) + np.uint32(0xE6546B64)
        tail = size & 3
        if tail:
            k = np.zeros(len(where), dtype=np.uint32)
            for t in range(tail - 1, -1, -1):
                k ^= raw[:, blocks * 4 + t].astype(np.uint32) << np.uint32(8 * t)
            h ^= _mix(k)
        h ^= np.uint32(size & 0xFFFFFFFF)
        h ^= h >> np.uint32(16)
        h *= np.uint32(0x85EBCA6B)
        h ^= h >> np.uint32(13)
        h *= np.uint32(0xC2B2AE35)
        h ^= h >> np.uint32(16)
        out[where] = h.view(np.int32)
    return out


# --- sparse rows ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SparseRows:
    """A CSR matrix in three numpy arrays: enough to multiply by coefficients without SciPy."""

    indptr: np.ndarray  # int64, len(rows) + 1
    indices: np.ndarray  # int64 column of each stored value
    data: np.ndarray  # float64
    columns: int

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    def row_ids(self) -> np.ndarray:
        return np.repeat(np.arange(self.rows), np.diff(self.indptr))

    def dot(self, coef: np.ndarray) -> np.ndarray:
        """`self @ coef` for coef of shape (columns,) or (columns, k), dense."""
        weighted = self.data[:, None] * coef[self.indices].reshape(len(self.indices), -1)
        out = np.zeros((self.rows, weighted.shape[1]), dtype=np.float64)
        np.add.at(out, self.row_ids(), weighted)
        return out.ravel() if coef.ndim == 1 else out

    def toarray(self, dtype: type = np.float64) -> np.ndarray:
        out = np.zeros((self.rows, self.columns), dtype=dtype)
        out[self.row_ids(), self.indices] = self.data
        return out

    def scaled(self, factor: float) -> SparseRows:
        return SparseRows(self.indptr, self.indices, self.data * factor, self.columns)

    @classmethod
    def hstack(cls, blocks: Sequence[SparseRows]) -> SparseRows:
        """The blocks side by side (same rows), like `scipy.sparse.hstack(...).tocsr()`."""
        offsets = np.cumsum([0, *(b.columns for b in blocks)])
        row_of = np.concatenate([b.row_ids() for b in blocks])
        order = np.argsort(row_of, kind="stable")  # a row's entries block after block, each block's sorted
        indices = np.concatenate([b.indices + offset for b, offset in zip(blocks, offsets, strict=False)])
        data = np.concatenate([b.data for b in blocks])
        indptr = np.sum([b.indptr for b in blocks], axis=0).astype(np.int64)
        return cls(indptr, indices[order].astype(np.int64), data[order], int(offsets[-1]))

    def to_scipy(self):  # training only: scikit-learn fits on SciPy matrices
        import scipy.sparse as sparse

        return sparse.csr_matrix((self.data, self.indices, self.indptr), shape=(self.rows, self.columns))


def _counted(
    keys: np.ndarray, columns: int, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, summed weight) of each distinct `row * columns + column` key, in row then column order; the
    weight of a key is 1 without `weights`, so the sum is its count."""
    unique, inverse = np.unique(keys, return_inverse=True)
    sums = np.bincount(inverse, weights=weights, minlength=len(unique)).astype(np.float64)
    return unique // columns, unique % columns, sums


def _l2_rows(row_of: np.ndarray, column_of: np.ndarray, values: np.ndarray, rows: int, columns: int) -> SparseRows:
    """CSR rows from entries in row then column order, each row scaled to unit L2 norm (scikit-learn's
    `normalize`; an empty row stays empty)."""
    norms = np.sqrt(np.bincount(row_of, weights=values * values, minlength=rows))
    data = values / np.where(norms > 0, norms, 1.0)[row_of]
    indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of, minlength=rows))]).astype(np.int64)
    return SparseRows(indptr, column_of.astype(np.int64), data.astype(np.float64), columns)


def hashed_counts(documents: Iterable[list[str]], n_features: int, *, alternate_sign: bool = False) -> SparseRows:
    """scikit-learn's `HashingVectorizer(n_features, alternate_sign=..., norm="l2")` over analysed documents:
    each feature's count at `abs(murmurhash3_32(feature)) % n_features` (with `alternate_sign`, counted with the
    hash's sign, so collisions tend to cancel), rows L2-normalised. A feature is hashed once per process while it
    stays among the recent ones (`feature_hashes`)."""
    features: list[str] = []
    lengths: list[int] = []
    for document in documents:
        features.extend(document)
        lengths.append(len(document))
    rows = len(lengths)
    hashes = np.asarray(feature_hashes(features), dtype=np.int64)
    index = np.where(hashes == -(2**31), (2**31 - 1 - (n_features - 1)) % n_features, np.abs(hashes) % n_features)
    keys = np.repeat(np.arange(rows, dtype=np.int64), lengths) * n_features + index
    signs = np.where(hashes >= 0, 1.0, -1.0) if alternate_sign else None
    row_of, column_of, counts = _counted(keys, n_features, signs)
    return _l2_rows(row_of, column_of, counts, rows, n_features)


# Signed MurmurHash3 of the features seen lately. Customer texts share most of their character n-grams and words,
# so a turn hashes few new ones; bounded (emptied when full), about 2 MiB at most.
_HASHES: dict[str, int] = {}
_HASHES_MAX = 20_000


def feature_hashes(features: list[str]) -> list[int]:
    """`murmurhash3_32(feature)` of each feature, in order, the new ones computed together."""
    known = _HASHES
    found: dict[str, int] = {}
    missing: list[str] = []
    for feature in dict.fromkeys(features):
        hashed = known.get(feature)
        if hashed is None:
            missing.append(feature)
        else:
            found[feature] = hashed
    if missing:
        new = dict(zip(missing, murmurhash3_32([f.encode("utf-8") for f in missing]).tolist(), strict=True))
        found.update(new)
        if len(known) + len(new) > _HASHES_MAX:
            known.clear()
        known.update(new)
    return [found[f] for f in features]


@dataclass
class TfidfNgrams:
    """The inference half of a fitted `TfidfVectorizer(analyzer="char_wb", sublinear_tf=True)` (l2 norm, idf):
    its vocabulary and idf weights, nothing of scikit-learn."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    ngram_range: tuple[int, int]

    @classmethod
    def export(cls, vectorizer) -> TfidfNgrams:
        """From a fitted scikit-learn TfidfVectorizer of that configuration (training)."""
        if (
            vectorizer.analyzer != "char_wb"
            or not vectorizer.lowercase
            or vectorizer.strip_accents
            or not vectorizer.sublinear_tf
            or vectorizer.norm != "l2"
            or not vectorizer.use_idf
            or vectorizer.binary
        ):
            raise ValueError("only TfidfVectorizer(analyzer='char_wb', sublinear_tf=True, norm='l2') is exported")
        vocabulary = {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}
        low, high = vectorizer.ngram_range
        return cls(vocabulary=vocabulary, idf=np.asarray(vectorizer.idf_, dtype=np.float64), ngram_range=(low, high))

    def transform(self, texts: Sequence[str]) -> SparseRows:
        low, high = self.ngram_range
        vocabulary, columns = self.vocabulary, len(self.idf)
        keys = [
            row * columns + vocabulary[g]
            for row, text in enumerate(texts)
            for g in char_wb_ngrams(text, low, high)
            if g in vocabulary
        ]
        row_of, column_of, counts = _counted(np.asarray(keys, dtype=np.int64), columns)
        return _l2_rows(row_of, column_of, (np.log(counts) + 1.0) * self.idf[column_of], len(texts), columns)
