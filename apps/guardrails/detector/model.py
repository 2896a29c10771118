"""The learned injection detector: logistic regression over MiniLM sentence embeddings, the
similarity of the embedding and of a character sketch to the nearest training attacks and benign
texts, hashed word unigrams and bigrams, hashed character n-grams and the rule scorer's hits.

The embedding carries the meaning (an override worded in a way no rule lists);
the hashed words and character n-grams carry cues the English-only embedder reads
poorly (other languages, inflections, "DAN", template tokens); the rule features
let the model weigh the pattern scorer's weak evidence ("act as", "system prompt")
together with the rest instead of beside it; the neighbour features
(`neighbours.py`) place a view among the training examples, by meaning and by spelling
(`sketch.py`: a reading of a view that does not depend on the language). The weights
(`weights.json`, written by `manage.py train_injection_detector`) are 384 embedding
coefficients, six neighbour coefficients, the non-zero hashed coefficients, one
coefficient per rule id, an intercept and the calibrated threshold; the neighbours'
reference vectors and sketches are in `reference.npz`; both are loaded once per process. The
embedder is the router's (one model per process).

A message is read in several views and scored by the most suspicious one: the
text as written, its de-obfuscated form (leetspeak, spaced letters), payloads
decoded from base64 or hex, its English reading when it is surely in another
language a glossary covers (`reading.english_reading`: the detector's glossaries, `glossary/`, with the
understanding layer's words beneath for the languages it reads), each sentence of a
short message of several sentences (an attack appended to a genuine question),
and, for long texts, runs of whole sentences (`_chunks`) and each short sentence
instead of the whole, so an instruction buried in the middle of a document is
not averaged away. Training fits these views too (training._extra_view_rows):
every view of a benign text as benign, an attack's readings as attacks. The model is linear, so a view's
score is a cheap part (hashed words and characters, rule hits) plus the
dense part (embedding and both kinds of neighbours): every view gets the cheap part, and only the EMBED_VIEWS views
with the most suspicious cheap part are embedded and scored in full. A
4,000-character message then costs three short MiniLM passes instead of forty.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from apps.core.ngrams import SparseRows, char_wb_ngrams, hashed_counts, word_ngrams

from ..injection import RULES, score_injection
from ..obfuscation import decoded_payloads, deobfuscate
from ..text import fold
from .neighbours import FEATURES as NEIGHBOUR_FEATURES
from .neighbours import REFERENCE_PATH, Reference, load_reference, neighbour_features
from .reading import english_reading
from .sketch import other_script, sketches, spelling

EMBEDDING_DIMENSIONS = 384
# A view's length in words, one-hot in these bins (up to 3, 4-7, 8-15, 16-30, more), and the share of its letters
# in a script other than Latin: what the other features mean differs with both (below, shape_features).
LENGTH_BINS = (3, 7, 15, 30)
SHORT_BINS = 2  # the first two bins: a view of up to 7 words
SHAPES = len(LENGTH_BINS) + 2
# The shape, then the neighbour features times "short" and times "other script".
SHAPE_FEATURES = SHAPES + 2 * NEIGHBOUR_FEATURES
DENSE = EMBEDDING_DIMENSIONS + NEIGHBOUR_FEATURES + SHAPE_FEATURES  # what only an embedded view has
WEIGHTS_PATH = Path(__file__).resolve().parent / "weights.json"
WINDOW_WORDS = 40
WINDOW_STRIDE = 20
LONG_TEXT_WORDS = 60  # longer texts are read in windows instead
MAX_VIEWS = 96  # cheap features only; at most EMBED_VIEWS of them are embedded
EMBED_VIEWS = 3
SENTENCE_WORDS = (4, WINDOW_WORDS)  # a sentence of a long text is a view of its own within these lengths
VIEW_BATCH = 8
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


HASH_FEATURES = 2**14  # word unigrams and bigrams
CHAR_FEATURES = 2**15  # character 3-5-grams inside word boundaries
# One indicator per rule id, then the encodings' pseudo-rules, then the noisy-OR score itself.
RULE_IDS: tuple[str, ...] = (*(rule.id for rule in RULES), "encoded.payload", "encoded.hidden_tags", "score")
HASHED = HASH_FEATURES + CHAR_FEATURES


def hashed_words(texts: list[str]) -> SparseRows:
    """(len(texts), HASH_FEATURES + CHAR_FEATURES) rows: folded word unigrams and bigrams, and character
    3-5-grams, each block L2-normalised (scikit-learn's HashingVectorizer, computed with numpy only:
    apps.core.ngrams)."""
    folded = [spelling(t) for t in texts]
    words = hashed_counts((word_ngrams(t, 1, 2) for t in folded), HASH_FEATURES)
    chars = hashed_counts((char_wb_ngrams(t, 3, 5) for t in folded), CHAR_FEATURES)
    return SparseRows.hstack([words, chars])


Scope = frozenset[str] | None  # the rules a view is read for (None: all)


def rule_features(texts: list[str], scopes: list[Scope] | None = None) -> np.ndarray:
    """(len(texts), len(RULE_IDS)): which rules each text trips, and the rule score."""
    index = {rule_id: i for i, rule_id in enumerate(RULE_IDS)}
    out = np.zeros((len(texts), len(RULE_IDS)), dtype=np.float32)
    for row, text in enumerate(texts):
        scored = score_injection(text, only=scopes[row] if scopes else None)
        for rule_id in scored.rules:
            if rule_id in index:
                out[row, index[rule_id]] = 1.0
        out[row, index["score"]] = scored.score
    return out


def cheap_logits(texts: list[str], scopes: list[Scope] | None, cheap_coef: np.ndarray) -> np.ndarray:
    """Each text's linear score from everything but the embedding (hashed words and characters, rule hits),
    without the intercept: what serving computes for every view, with numpy only."""
    rules = rule_features(texts, scopes).astype(np.float64) @ cheap_coef[HASHED:].astype(np.float64)
    return hashed_words(texts).dot(cheap_coef[:HASHED]) + rules


def cheap_features(texts: list[str], scopes: list[Scope] | None = None):
    """Everything but the embedding: hashed words and characters, rule hits (SciPy CSR, for training)."""
    import scipy.sparse as sparse

    return sparse.hstack([hashed_words(texts).to_scipy(), sparse.csr_matrix(rule_features(texts, scopes))]).tocsr()


def shape_features(texts: list[str]) -> np.ndarray:
    """(len(texts), SHAPES): the length bin (one-hot) and the share of letters in a script other than Latin."""
    out = np.zeros((len(texts), SHAPES), dtype=np.float32)
    for row, text in enumerate(texts):
        out[row, int(np.searchsorted(LENGTH_BINS, len(text.split())))] = 1.0
        if not text.isascii():
            letters = [ch for ch in text if ch.isalpha()]
            out[row, -1] = sum(map(other_script, letters)) / len(letters) if letters else 0.0
    return out


def dense_rows(vectors: np.ndarray, near: np.ndarray, shapes: np.ndarray) -> np.ndarray:
    """(len(vectors), DENSE): the embeddings, their neighbour features, the shape, and the neighbour features
    again for short views and for views in another script. How close a view lies to known attacks means one
    thing for a paragraph and another for three words ("tell me a joke" sits near few examples of anything),
    and the English embedder's neighbours mean little for Cyrillic or Devanagari, where the sketch's mean more:
    these columns let one linear model weigh them apart (a second view of short and foreign messages)."""
    shapes = np.asarray(shapes, dtype=np.float32)
    short = shapes[:, :SHORT_BINS].sum(axis=1, keepdims=True)
    other = shapes[:, -1:]
    return np.hstack([np.asarray(vectors, dtype=np.float32), near, shapes, near * short, near * other])


def dense_features(
    vectors: np.ndarray, view_sketches: np.ndarray, shapes: np.ndarray, reference: Reference
) -> np.ndarray:
    """(len(vectors), DENSE): dense_rows of the views, their neighbours read in the reference."""
    return dense_rows(vectors, neighbour_features(vectors, view_sketches, reference), shapes)


@dataclass(frozen=True, slots=True)
class Weights:
    coef: np.ndarray  # shape (DENSE + HASHED + len(RULE_IDS),)
    intercept: float
    threshold: float  # probability at which the learned detector alone trips
    digest: str  # data_digest() of the examples it was trained on
    meta: dict
    reference: Reference  # the neighbour features' development examples


def load_weights(path: Path = WEIGHTS_PATH, reference_path: Path = REFERENCE_PATH) -> Weights:
    data = json.loads(path.read_text(encoding="utf-8"))
    coef = np.zeros(DENSE + HASHED + len(RULE_IDS), dtype=np.float32)
    coef[:EMBEDDING_DIMENSIONS] = data["embedding_coef"]
    coef[EMBEDDING_DIMENSIONS : EMBEDDING_DIMENSIONS + NEIGHBOUR_FEATURES] = data["neighbour_coef"]
    coef[EMBEDDING_DIMENSIONS + NEIGHBOUR_FEATURES : DENSE] = data.get("shape_coef", [0.0] * SHAPE_FEATURES)
    for index, value in data["word_coef"].items():
        coef[DENSE + int(index)] = value
    # By id: a rule added since training weighs 0, a rule removed is ignored.
    rule_index = {rule_id: i for i, rule_id in enumerate(RULE_IDS)}
    for rule_id, value in data.get("rule_coef", {}).items():
        if rule_id in rule_index:
            coef[DENSE + HASHED + rule_index[rule_id]] = value
    return Weights(
        coef=coef,
        intercept=float(data["intercept"]),
        threshold=float(data["threshold"]),
        digest=str(data["digest"]),
        meta=dict(data.get("meta", {})),
        reference=load_reference(reference_path),
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


def _windows(words: list[str]) -> list[str]:
    return [
        " ".join(words[start : start + WINDOW_WORDS]) for start in range(0, len(words) - WINDOW_STRIDE, WINDOW_STRIDE)
    ]


def _sentences(text: str) -> list[str]:
    return [" ".join(s.split()) for s in _SENTENCE.split(text) if s.strip()]


def _chunks(text: str) -> list[str]:
    """Runs of whole sentences of up to WINDOW_WORDS words, one starting at each sentence (a sentence longer
    than that is read in word windows): a window that starts mid-sentence reads as a fragment no example
    resembles."""
    pieces: list[str] = []
    for sentence in _sentences(text):
        words = sentence.split(" ")
        pieces.extend(_windows(words) if len(words) > WINDOW_WORDS else [sentence])
    sizes = [len(p.split(" ")) for p in pieces]
    chunks: list[str] = []
    for start in range(len(pieces)):
        end, total = start + 1, sizes[start]
        while end < len(pieces) and total + sizes[end] <= WINDOW_WORDS:
            total += sizes[end]
            end += 1
        chunks.append(" ".join(pieces[start:end]))
    return chunks


def labelled_views(text: str) -> list[tuple[str, bool]]:
    """views(text), each with whether it says what the whole text says (the text itself, its de-obfuscated,
    decoded or English reading) rather than a part of it (a window, a sentence)."""
    base = " ".join(text.split())
    if not base:
        return []
    readings = [base]
    plain = deobfuscate(fold(base))
    if plain != fold(base):
        readings.append(plain)
    readings.extend(" ".join(decoded.split()) for decoded in decoded_payloads(base))
    english = english_reading(text)
    if english:
        readings.append(" ".join(english.split()))
    out: list[tuple[str, bool]] = []
    low, high = SENTENCE_WORDS
    for index, reading in enumerate(readings):
        words = reading.split(" ")
        if len(words) <= LONG_TEXT_WORDS:
            out.append((reading, True))
            if index == 0:  # an attack appended to a genuine question
                sentences = [s for s in _sentences(text) if len(s.split()) >= low]
                if len(sentences) > 1:
                    out.extend((s, False) for s in sentences)
            continue
        if index == 0:
            out.extend((c, False) for c in _chunks(text))
        else:
            out.extend((w, False) for w in _windows(words))
        if index == 0:  # one injected sentence inside a long document
            out.extend((s, False) for s in _sentences(text) if low <= len(s.split()) <= high)
    seen: set[str] = set()
    unique = [(v, whole) for v, whole in out if v and not (v in seen or seen.add(v))]
    return unique[:MAX_VIEWS]


def views(text: str) -> list[str]:
    """The readings of `text` the detector scores (see the module docstring), at most MAX_VIEWS.

    A reading of more than LONG_TEXT_WORDS words is replaced by its windows (and, for the text as
    written, its sentences of SENTENCE_WORDS words): a long view would cost a full 256-token pass of
    the embedder and dilute one bad sentence among many good ones."""
    return [v for v, _ in labelled_views(text)]


def view_table(groups: list[list[str]]) -> tuple[list[str], list[Scope], list[int]]:
    """Every view of every group of texts (a message and what was hidden in it count as one), the rules
    each view is read for, and each group's view count. A window of a long text is read only for the
    rules the whole text trips: a rule that matches in a part matches in the whole, and a 4,000-character
    message's 80 windows and sentences would otherwise each run the whole rule table."""
    flat: list[str] = []
    scopes: list[Scope] = []
    counts: list[int] = []
    for group in groups:
        count = 0
        for text in group:
            vs = views(text)
            scope = frozenset(score_injection(text).rules) if len(text.split()) > LONG_TEXT_WORDS else None
            flat.extend(vs)
            scopes.extend([scope] * len(vs))
            count += len(vs)
        counts.append(count)
    return flat, scopes, counts


def choose_views(cheap_logits: np.ndarray, counts: list[int], *, limit: int = EMBED_VIEWS) -> np.ndarray:
    """Flat indices of the views to embed: per text, the `limit` with the highest cheap logit (all of a
    text's views when it has no more). Training's calibration and serving choose alike."""
    chosen: list[int] = []
    start = 0
    for count in counts:
        segment = cheap_logits[start : start + count]
        if count <= limit:
            chosen.extend(range(start, start + count))
        else:
            top = np.argsort(-segment, kind="stable")[:limit]
            chosen.extend(start + int(i) for i in sorted(top))
        start += count
    return np.array(chosen, dtype=np.int64)


def view_scores(
    coef: np.ndarray, intercept: float, cheap: np.ndarray, counts: list[int], dense_of, reference: Reference
) -> np.ndarray:
    """Each group's score, the most suspicious of its views: the cheap part of every view (`cheap`, one
    logit per view without the intercept), then the full score of the views choose_views picks,
    `dense_of(indices)` giving their embeddings, sketches and shapes. Serving (score_groups) and training's
    calibration both score this way."""
    result = np.zeros(len(counts), dtype=np.float64)
    if not sum(counts):
        return result
    partial = np.asarray(cheap, dtype=np.float64) + intercept
    chosen = choose_views(partial, counts)
    logits = partial[chosen] + dense_features(*dense_of(chosen), reference) @ coef[:DENSE]
    probs = 1.0 / (1.0 + np.exp(-logits))
    owner = np.repeat(np.arange(len(counts)), counts)[chosen]
    np.maximum.at(result, owner, probs)
    return result


def _embedded_and_sketched(texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return embed(texts), sketches(texts), shape_features(texts)


def score_groups(groups: list[list[str]], weights: Weights) -> np.ndarray:
    """Max probability over each group's views, for many texts in one embedding batch: every view's cheap
    part, then the full score of the EMBED_VIEWS most suspicious views of each group."""
    flat, scopes, counts = view_table(groups)
    if not flat:
        return np.zeros(len(groups), dtype=np.float32)
    return view_scores(
        weights.coef,
        weights.intercept,
        cheap_logits(flat, scopes, weights.coef[DENSE:]),
        counts,
        lambda chosen: _embedded_and_sketched([flat[i] for i in chosen]),
        weights.reference,
    ).astype(np.float32)


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
    count = len(views(text)) + len(views(hidden_text))
    probability = float(score_groups([[text, hidden_text]], weights)[0]) if count else 0.0
    return LearnedScore(probability=probability, threshold=weights.threshold, views=count)


def scores(texts: list[str]) -> list[float]:
    """Learned probabilities for many texts at once (benchmarks, training reports)."""
    return [float(p) for p in score_groups([[t] for t in texts], get_weights())]
