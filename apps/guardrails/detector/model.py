"""The learned injection detector: logistic regression over MiniLM sentence embeddings,
hashed word unigrams and bigrams, hashed character n-grams and the rule scorer's hits.

The embedding carries the meaning (an override worded in a way no rule lists);
the hashed words and character n-grams carry cues the English-only embedder reads
poorly (other languages, inflections, "DAN", template tokens); the rule features
let the model weigh the pattern scorer's weak evidence ("act as", "system prompt")
together with the rest instead of beside it. The weights (`weights.json`, written
by `manage.py train_injection_detector`) are 384 embedding coefficients, the
non-zero hashed coefficients, one coefficient per rule id, an intercept and the
calibrated threshold, loaded once per process. The embedder is the router's (one
model per process).

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

from ..injection import RULES, score_injection
from ..obfuscation import decoded_payloads, deobfuscate
from ..text import fold

EMBEDDING_DIMENSIONS = 384
WEIGHTS_PATH = Path(__file__).resolve().parent / "weights.json"
WINDOW_WORDS = 40
WINDOW_STRIDE = 20
LONG_TEXT_WORDS = 60  # longer texts are also read in windows
MAX_VIEWS = 40
VIEW_BATCH = 8
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


HASH_FEATURES = 2**14  # word unigrams and bigrams
CHAR_FEATURES = 2**15  # character 3-5-grams inside word boundaries
# One indicator per rule id, then the encodings' pseudo-rules, then the noisy-OR score itself.
RULE_IDS: tuple[str, ...] = (*(rule.id for rule in RULES), "encoded.payload", "encoded.hidden_tags", "score")
HASHED = HASH_FEATURES + CHAR_FEATURES


def hashed_words(texts: list[str]):
    """Sparse (len(texts), HASH_FEATURES + CHAR_FEATURES) matrix: folded word unigrams and bigrams, and
    character 3-5-grams, each block L2-normalised."""
    import scipy.sparse as sparse
    from sklearn.feature_extraction.text import HashingVectorizer

    folded = [fold(t) for t in texts]
    words = HashingVectorizer(n_features=HASH_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm="l2")
    chars = HashingVectorizer(
        n_features=CHAR_FEATURES, analyzer="char_wb", ngram_range=(3, 5), alternate_sign=False, norm="l2"
    )
    return sparse.hstack([words.transform(folded), chars.transform(folded)]).tocsr()


def rule_features(texts: list[str]) -> np.ndarray:
    """(len(texts), len(RULE_IDS)): which rules each text trips, and the rule score."""
    index = {rule_id: i for i, rule_id in enumerate(RULE_IDS)}
    out = np.zeros((len(texts), len(RULE_IDS)), dtype=np.float32)
    for row, text in enumerate(texts):
        scored = score_injection(text)
        for rule_id in scored.rules:
            if rule_id in index:
                out[row, index[rule_id]] = 1.0
        out[row, index["score"]] = scored.score
    return out


def features(texts: list[str]):
    """The model's input: embeddings, hashed words and characters, rule hits side by side (sparse, CSR)."""
    import scipy.sparse as sparse

    return sparse.hstack(
        [sparse.csr_matrix(embed(texts)), hashed_words(texts), sparse.csr_matrix(rule_features(texts))]
    ).tocsr()


@dataclass(frozen=True, slots=True)
class Weights:
    coef: np.ndarray  # shape (384 + HASHED + len(RULE_IDS),)
    intercept: float
    threshold: float  # probability at which the learned detector alone trips
    digest: str  # data_digest() of the examples it was trained on
    meta: dict


def load_weights(path: Path = WEIGHTS_PATH) -> Weights:
    data = json.loads(path.read_text(encoding="utf-8"))
    coef = np.zeros(EMBEDDING_DIMENSIONS + HASHED + len(RULE_IDS), dtype=np.float32)
    coef[:EMBEDDING_DIMENSIONS] = data["embedding_coef"]
    for index, value in data["word_coef"].items():
        coef[EMBEDDING_DIMENSIONS + int(index)] = value
    # By id: a rule added since training weighs 0, a rule removed is ignored.
    rule_index = {rule_id: i for i, rule_id in enumerate(RULE_IDS)}
    for rule_id, value in data.get("rule_coef", {}).items():
        if rule_id in rule_index:
            coef[EMBEDDING_DIMENSIONS + HASHED + rule_index[rule_id]] = value
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

    # Small batches: a long message's views run from 256 tokens (the whole text) down to one sentence, and
    # one batch pads every view to the longest. A 4,000-character message's 32 views cost 4.1 s of CPU in
    # one batch of 64 and 1.2 s in batches of 8, with the same vectors.
    return embed_texts(texts, batch_size=VIEW_BATCH)


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
