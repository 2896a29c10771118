"""The learned injection detector: logistic regression over MiniLM sentence embeddings
and hashed word unigrams and bigrams.

The embedding carries the meaning (an override worded in a way no rule lists);
the hashed words carry cues the English-only embedder reads poorly (other
languages, "DAN", template tokens). The weights (`weights.json`, written by
`manage.py train_injection_detector`) are 384 embedding coefficients, the
non-zero hashed-word coefficients, an intercept and the calibrated threshold,
loaded once per process. The embedder is the router's (one model per process).

A message is read in several views and scored by the most suspicious one: the
text as written, its de-obfuscated form (leetspeak, spaced letters), payloads
decoded from base64 or hex, and, for long texts, overlapping windows of words
and each sentence, so an instruction buried in the middle of a document is not
averaged away.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..obfuscation import decoded_payloads, deobfuscate
from ..text import fold

EMBEDDING_DIMENSIONS = 384
WEIGHTS_PATH = Path(__file__).resolve().parent / "weights.json"
WINDOW_WORDS = 40
WINDOW_STRIDE = 20
LONG_TEXT_WORDS = 60  # longer texts are also read in windows
MAX_VIEWS = 40
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


HASH_FEATURES = 2**14


def hashed_words(texts: list[str]):
    """Sparse (len(texts), HASH_FEATURES) matrix of folded word unigrams and bigrams, L2-normalised."""
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(n_features=HASH_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm="l2")
    return vectorizer.transform([fold(t) for t in texts])


def features(texts: list[str]):
    """The model's input: embeddings and hashed words side by side (sparse, CSR)."""
    import scipy.sparse as sparse

    return sparse.hstack([sparse.csr_matrix(embed(texts)), hashed_words(texts)]).tocsr()


@dataclass(frozen=True, slots=True)
class Weights:
    coef: np.ndarray  # shape (384 + HASH_FEATURES,)
    intercept: float
    threshold: float  # probability at which the learned detector alone trips
    digest: str  # data_digest() of the examples it was trained on
    meta: dict


def load_weights(path: Path = WEIGHTS_PATH) -> Weights:
    data = json.loads(path.read_text(encoding="utf-8"))
    coef = np.zeros(len(data["embedding_coef"]) + HASH_FEATURES, dtype=np.float32)
    coef[: len(data["embedding_coef"])] = data["embedding_coef"]
    for index, value in data["word_coef"].items():
        coef[len(data["embedding_coef"]) + int(index)] = value
    return Weights(
        coef=coef,
        intercept=float(data["intercept"]),
        threshold=float(data["threshold"]),
        digest=str(data["digest"]),
        meta=dict(data.get("meta", {})),
    )


_lock = threading.Lock()
_weights: Weights | None = None


def get_weights() -> Weights:
    """The shipped weights, read once per process."""
    global _weights
    if _weights is None:
        with _lock:
            if _weights is None:
                _weights = load_weights()
    return _weights


def embed(texts: list[str]) -> np.ndarray:
    # Imported here: guardrails stay importable (and the rule checks usable) without torch loaded.
    from apps.agents.offline.embedder import embed as embed_texts

    return embed_texts(texts)


def views(text: str) -> list[str]:
    """The readings of `text` the detector scores (see the module docstring), at most MAX_VIEWS."""
    base = " ".join(text.split())
    if not base:
        return []
    out = [base]
    plain = deobfuscate(fold(base))
    if plain != fold(base):
        out.append(plain)
    out.extend(" ".join(decoded.split()) for decoded in decoded_payloads(base))
    words = base.split(" ")
    if len(words) > LONG_TEXT_WORDS:
        for start in range(0, len(words) - WINDOW_STRIDE, WINDOW_STRIDE):
            out.append(" ".join(words[start : start + WINDOW_WORDS]))
        # Sentences on their own too: one injected sentence inside a long document.
        out.extend(s for s in _SENTENCE.split(text) if len(s.split()) >= 4)
    seen: set[str] = set()
    unique = [v for v in out if v and not (v in seen or seen.add(v))]
    return unique[:MAX_VIEWS]


def probabilities(matrix, weights: Weights) -> np.ndarray:
    logits = np.asarray(matrix @ weights.coef).ravel() + weights.intercept
    return 1.0 / (1.0 + np.exp(-logits))


def score_views(view_lists: list[list[str]], weights: Weights) -> np.ndarray:
    """Max probability over each text's views, for many texts in one embedding batch."""
    flat = [v for vs in view_lists for v in vs]
    result = np.zeros(len(view_lists), dtype=np.float32)
    if not flat:
        return result
    probs = probabilities(features(flat), weights)
    i = 0
    for n, vs in enumerate(view_lists):
        if vs:
            result[n] = float(probs[i : i + len(vs)].max())
        i += len(vs)
    return result


@dataclass(frozen=True, slots=True)
class LearnedScore:
    probability: float  # the most suspicious view's probability of being an attack
    threshold: float
    views: int

    @property
    def tripped(self) -> bool:
        return self.probability >= self.threshold


@lru_cache(maxsize=4096)
def learned_score(text: str, *, hidden_text: str = "") -> LearnedScore:
    """Cached per process: earlier customer messages are re-checked on every turn (history masking)."""
    weights = get_weights()
    vs = views(text) + views(hidden_text)
    probability = float(score_views([vs], weights)[0]) if vs else 0.0
    return LearnedScore(probability=probability, threshold=weights.threshold, views=len(vs))


def scores(texts: list[str]) -> list[float]:
    """Learned probabilities for many texts at once (benchmarks, training reports)."""
    return [float(p) for p in score_views([views(t) for t in texts], get_weights())]
