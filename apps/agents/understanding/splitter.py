"""Where a message that asks several things starts a new request: a learned reading of each place it could.

A cue-word list cannot tell "i paid extra for express on the earbuds why havent they shipped" (one request: what
happened, then the question about it) from "wheres my backpack did the earbuds ship" (two), nor "yes. and where are my
runners" (an answer, then a new request) from "my order came. its broken, i want a refund" (one). So the places a
request could start are found by form (`candidates`: after a sentence end or a comma, before a conjunction, before a
word a clause can open with), and whether one does is decided by a classifier on the router's MiniLM embeddings:

- the embedding of the words just before the place, of the words just after it, and of both together;
- how sure the router is of each side alone, and whether both sides go to the same route;
- character n-grams of the last words before and the first words after (right-hand words marked), so punctuation and
  short words ("? and", ". also", "pls") are read as they are.

Trained on `splits/training.yaml` (messages written from the customer's side, " | " where a new request starts), held
out in `splits/heldout/splits.yaml` (written first, never trained on; `bench/bench_splitter.py` scores both). The
classifier is the router's recipe (`learned_classifier.fit_calibrated`: balanced logistic regression, temperature
calibrated), cached on disk under a digest of the examples, this module's `FORMAT_VERSION` and the router's own digest
(its confidences are features).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from apps.agents.offline import embedder
from apps.agents.offline.learned_classifier import (
    CalibratedFit,
    LearnedClassifier,
    Regression,
    TrainingReport,
    fit_calibrated,
    load_or_train_cached,
    training_digest,
    var_dir,
)
from apps.agents.understanding.intents import prepare

__all__ = [
    "SPLITS_DIR",
    "SplitClassifier",
    "candidates",
    "feature_texts",
    "get_splitter",
    "load_split_messages",
    "split_points",
]

SPLITS_DIR = Path(__file__).resolve().parent / "splits"
TRAINING_FILE = SPLITS_DIR / "training.yaml"
HELDOUT_FILE = SPLITS_DIR / "heldout" / "splits.yaml"
MARK = " | "
# Bump when the candidates, the features or the cached object's shape change.
FORMAT_VERSION = 1
_REGRESSION = Regression(c=8.0, max_iter=3000, solver="lbfgs")
_LEXICAL_WEIGHT = 0.5
_WINDOW = 8  # words each side whose embedding is read
_EDGE = 3  # words each side whose character n-grams are read
_FOLDS = 5
_NEAR = 2  # two starts this close are one: the likelier is kept
# A place is a new request's start when the calibrated probability is at least this.
THRESHOLD = 0.5

_CONJUNCTIONS = frozenset({"and", "also", "plus", "then", "but", "so", "n", "&"})
# Words a clause can open with: a place before one of them is a candidate (the classifier decides).
_OPENER_WORDS = (
    "can could would will please pls plz i i'd i'm i'll id im ive i've what where when how why who which whats what's "
    "wheres where's whens when's hows how's wat wats y is are do does did has have was were u you send email e-mail "
    "cancel change return refund tell show give check track update let resend forward list remove explain start help "
    "exchange swap whos any yes no ok okay one"
)
_OPENERS = frozenset(_OPENER_WORDS.split())
_SENTENCE_END_RE = re.compile(r"[.!?;:,]+[\"')]*$")
_WORD_RE = re.compile(r"\S+")
_STRIP = ".,!?;:\"'()"


@dataclass(frozen=True)
class SplitMessage:
    text: str
    pieces: tuple[str, ...]  # the requests, in order (one piece: one request)


def load_split_messages(path: Path) -> list[SplitMessage]:
    """A splits file: each line's message (" | " read as a space) and its requests."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for line in data["messages"]:
        pieces = tuple(p.strip() for p in str(line).split(MARK.strip()))
        out.append(SplitMessage(text=" ".join(pieces), pieces=pieces))
    return out


def _tokens(text: str) -> list[re.Match[str]]:
    return list(_WORD_RE.finditer(text))


def _bare(token: str) -> str:
    return token.strip(_STRIP).lower()


def candidates(text: str) -> list[int]:
    """Indices of the words before which a new request could start (never the first word; never right after a
    conjunction: the conjunction opens the next piece)."""
    tokens = [m.group(0) for m in _tokens(text)]
    found = []
    for k in range(1, len(tokens)):
        left, right = tokens[k - 1], _bare(tokens[k])
        if _bare(left) in _CONJUNCTIONS and not _SENTENCE_END_RE.search(left):
            continue
        if _SENTENCE_END_RE.search(left) or right in _CONJUNCTIONS or right in _OPENERS:
            found.append(k)
    return found


def _windows(text: str, points: list[int]) -> tuple[list[str], list[str], list[str], list[str]]:
    """For each candidate: the words before it, after it, both, and the n-gram text of its edges."""
    words = [m.group(0) for m in _tokens(text)]
    lefts, rights, boths, edges = [], [], [], []
    for k in points:
        left = words[max(0, k - _WINDOW) : k]
        right = words[k : k + _WINDOW]
        lefts.append(" ".join(left))
        rights.append(" ".join(right))
        boths.append(" ".join(left + right))
        edge_left = [w.lower() for w in words[max(0, k - _EDGE) : k]]
        edge_right = ["_" + w.lower() for w in words[k : k + _EDGE]]
        edges.append(" ".join(edge_left + edge_right))
    return lefts, rights, boths, edges


def feature_texts(text: str) -> list[str]:
    """The texts the splitter embeds to read `text` (its candidates' windows, as the classifier sees them): what a
    turn's prefetch embeds in its one batch (`understanding.prefetch`)."""
    if len(_tokens(text)) < 2:
        return []
    left, right, both, _ = _windows(text, candidates(text))
    return [prepare(t) or " " for t in [*left, *right, *both]]


def _features(texts: list[str], points: list[list[int]]) -> tuple[np.ndarray, list[str]]:
    """One row per candidate of every text: [left, right, both] embeddings and the router's view of each side."""
    from apps.agents.routing.classifier import get_classifier

    lefts: list[str] = []
    rights: list[str] = []
    boths: list[str] = []
    edges: list[str] = []
    for text, ks in zip(texts, points, strict=True):
        left, right, both, edge = _windows(text, ks)
        lefts += left
        rights += right
        boths += both
        edges += edge
    if not lefts:
        return np.zeros((0, 3 * 384 + 5)), []
    prepared = [prepare(t) or " " for t in [*lefts, *rights, *boths]]
    unique = list(dict.fromkeys(prepared))
    vectors = embedder.embed(unique)
    index = {t: i for i, t in enumerate(unique)}
    stacked = vectors[[index[t] for t in prepared]]
    n = len(lefts)
    left_v, right_v, both_v = stacked[:n], stacked[n : 2 * n], stacked[2 * n :]
    router = get_classifier()
    sides = router.probabilities(stacked[: 2 * n], prepared[: 2 * n])
    left_p, right_p = sides[:n], sides[n:]
    same = (left_p.argmax(axis=1) == right_p.argmax(axis=1)).astype(float)
    cosine = (left_v * right_v).sum(axis=1)
    extra = np.column_stack([left_p.max(axis=1), right_p.max(axis=1), same, cosine, (left_p * right_p).sum(axis=1)])
    return np.hstack([left_v, right_v, both_v, extra]).astype(np.float64), edges


def _labelled(messages: list[SplitMessage]) -> tuple[list[str], list[list[int]], np.ndarray, int]:
    """Texts, their candidates, a label per candidate (1: a request starts there) and how many marked starts are no
    candidate at all (the classifier can never find those)."""
    texts, points, labels = [], [], []
    missed = 0
    for message in messages:
        starts = set()
        count = 0
        for piece in message.pieces[:-1]:
            count += len(_tokens(piece))
            starts.add(count)
        ks = candidates(message.text)
        missed += len(starts - set(ks))
        texts.append(message.text)
        points.append(ks)
        labels += [int(k in starts) for k in ks]
    return texts, points, np.array(labels), missed


@dataclass
class SplitReport(TrainingReport):
    messages: int
    candidates: int
    starts: int
    starts_not_candidates: int


class SplitClassifier(LearnedClassifier):
    """Whether a new request starts at a candidate place. Build with `SplitClassifier.train`; ask `split_points`."""

    def __init__(self, *, fit: CalibratedFit, report: SplitReport) -> None:
        super().__init__(fit=fit, classes=["same", "new"])
        self.report = report

    @classmethod
    def train(cls, messages: list[SplitMessage], *, digest: str = "") -> SplitClassifier:
        started = time.perf_counter()
        texts, points, labels, missed = _labelled(messages)
        vectors, edges = _features(texts, points)
        fit = fit_calibrated(
            vectors,
            edges,
            labels,
            classes=2,
            folds=_FOLDS,
            regression=_REGRESSION,
            lexical_weight=_LEXICAL_WEIGHT,
        )
        folds = fit.out_of_fold(labels)
        report = SplitReport(
            examples=len(labels),
            messages=len(messages),
            candidates=len(labels),
            starts=int(labels.sum()),
            starts_not_candidates=missed,
            oof_accuracy=round(float(folds.correct.mean()), 4),
            ece_uncalibrated=round(folds.ece_uncalibrated, 4),
            ece_calibrated=round(folds.ece_calibrated, 4),
            temperature=round(fit.temperature, 4),
            seconds=round(time.perf_counter() - started, 2),
            digest=digest,
        )
        return cls(fit=fit, report=report)

    def split_points(self, text: str, *, threshold: float = THRESHOLD) -> list[int]:
        """The word indices of `text` where a new request starts: the candidates read as one, and of two within
        `_NEAR` words of each other ("yes | please | can you...") only the likelier."""
        scored = sorted(self.starts([text])[0], key=lambda kp: -kp[1])
        chosen: list[int] = []
        for k, p in scored:
            if p >= threshold and all(abs(k - c) > _NEAR for c in chosen):
                chosen.append(k)
        return sorted(chosen)

    def starts(self, texts: list[str]) -> list[list[tuple[int, float]]]:
        """For each text, each candidate word index and the probability a new request starts there."""
        points = [candidates(t) for t in texts]
        vectors, edges = _features(texts, points)
        probabilities = self.probabilities(vectors, edges)[:, 1] if len(edges) else np.zeros(0)
        out, i = [], 0
        for ks in points:
            out.append([(k, float(p)) for k, p in zip(ks, probabilities[i : i + len(ks)], strict=True)])
            i += len(ks)
        return out


def split_at(text: str, points: list[int]) -> list[str]:
    """The text cut before each word index in `points` (its own spacing kept inside each piece)."""
    tokens = _tokens(text)
    cuts = [0, *(tokens[k].start() for k in sorted(points)), len(text)]
    return [text[a:b].strip() for a, b in itertools.pairwise(cuts) if text[a:b].strip()]


def split_points(text: str, *, threshold: float = THRESHOLD) -> list[int]:
    """The word indices of `text` where a new request starts."""
    if len(_tokens(text)) < 2:
        return []
    return get_splitter().split_points(text, threshold=threshold)


# --- the process-wide instance ---------------------------------------------------

_lock = threading.Lock()
_splitter: list[SplitClassifier] = []


def splitter_digest() -> str:
    from apps.agents.routing.classifier import get_classifier

    router = get_classifier().report.digest.encode()
    return training_digest(FORMAT_VERSION, _REGRESSION, [TRAINING_FILE.read_bytes(), router])


def get_splitter() -> SplitClassifier:
    """The process-wide splitter (thread-safe, trained or loaded from `var/understanding` once)."""
    if not _splitter:
        with _lock:
            if not _splitter:
                digest = splitter_digest()
                path = var_dir("understanding") / f"splitter-{digest[:20]}.pickle"
                _splitter.append(
                    load_or_train_cached(
                        path,
                        digest=digest,
                        kind=SplitClassifier,
                        train=lambda: SplitClassifier.train(load_split_messages(TRAINING_FILE), digest=digest),
                        what="request splitter",
                    )
                )
    return _splitter[0]
