"""Learned intent classifiers: the router's sentence embeddings + logistic regression, calibrated, per specialist.

Features are the MiniLM embedding plus character n-grams (TF-IDF, scaled by
`lexical_weight`): the embedding carries the meaning, the n-grams the short
words and typos an embedding blurs ("dont" vs "do", "refund" vs "refunded").

One generic `IntentClassifier`, trained from one example file per specialist
(`examples/<name>.yaml`: `specialist:` plus `intents: {intent: [messages]}`).
Confidence is temperature-calibrated on out-of-fold predictions, and a message
whose calibrated confidence is below the classifier's `threshold` is *unclear*
(`IntentPrediction.intent is None`): the caller asks instead of guessing. The
threshold is the lowest confidence at which the out-of-fold predictions that
are kept are right at least `min_precision` of the time.

Fitted classifiers are cached on disk (keyed by the example file, the embedding
model and scikit-learn's version) and once per process in memory. Features,
fitting, calibration and the disk cache are the router's too
(`apps.agents.offline.learned_classifier`).
"""

from __future__ import annotations

import logging
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
    normalise,
    precision_threshold,
    training_digest,
    var_dir,
)
from apps.agents.routes import SPECIALIST_ROUTES

logger = logging.getLogger(__name__)

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
HELDOUT_DIR = Path(__file__).resolve().parent / "heldout"
# The specialist routes that have an intent file (a new specialist reads intents once it adds one).
SPECIALISTS: tuple[str, ...] = tuple(r for r in SPECIALIST_ROUTES if (EXAMPLES_DIR / f"{r}.yaml").exists())
# Bump when training, `prepare` or the cached object's shape changes.
FORMAT_VERSION = 4
_FOLDS = 5
_REGRESSION = Regression(c=8.0, max_iter=3000, solver="newton-cg")
DEFAULT_MIN_PRECISION = 0.9
DEFAULT_LEXICAL_WEIGHT = 0.5

# MiniLM's vocabulary has no emoji: the ones customers answer with are read as the word they stand for.
_EMOJI_WORDS = {
    "👍": " yes ",
    "👌": " ok ",
    "✅": " yes ",
    "✔": " yes ",
    "🙂": " ok ",
    "😊": " ok ",
    "🙏": " please ",
    "💯": " yes ",
    "👎": " no ",
    "❌": " no ",
    "🚫": " no ",
    "🙅": " no ",
    "✋": " stop ",
    "🛑": " stop ",
    "🤔": " hmm ",
    "🤷": " not sure ",
}
_EMOJI_RE = re.compile("|".join(re.escape(e) for e in _EMOJI_WORDS))
_VARIATION_RE = re.compile("[\ufe0f\U0001f3fb-\U0001f3ff]")  # variation selector, skin tones
_SPACES_RE = re.compile(r"\s+")


def prepare(text: str) -> str:
    """Text as an intent classifier sees it: emoji read as words, order numbers and placeholders masked."""
    out = _VARIATION_RE.sub("", text)
    out = _EMOJI_RE.sub(lambda m: _EMOJI_WORDS[m.group(0)], out)
    out = _SPACES_RE.sub(" ", out).strip()
    return normalise(out) if out else out


@dataclass(frozen=True)
class IntentExample:
    text: str
    intent: str


@dataclass(frozen=True)
class IntentPrediction:
    intent: str | None  # None: unclear (below the calibrated threshold)
    best: str  # the most likely intent, even when unclear
    confidence: float
    probabilities: dict[str, float]

    @property
    def unclear(self) -> bool:
        return self.intent is None


@dataclass
class IntentReport(TrainingReport):
    name: str
    per_intent: dict[str, int]
    oof_accuracy_kept: float  # accuracy of the out-of-fold predictions above the threshold
    oof_coverage: float  # share of out-of-fold predictions above the threshold
    threshold: float


@dataclass(frozen=True)
class IntentFile:
    name: str  # `specialist:`
    examples: list[IntentExample]
    min_precision: float = DEFAULT_MIN_PRECISION  # `min_precision:` (optional)
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT  # `lexical_weight:` (optional)


def load_intent_examples(path: Path) -> IntentFile:
    """One example file: its name, its examples in file order, and its calibration options."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    examples = [
        IntentExample(text=str(message), intent=str(intent))
        for intent, messages in data["intents"].items()
        for message in messages
    ]
    return IntentFile(
        name=str(data["specialist"]),
        examples=examples,
        min_precision=float(data.get("min_precision", DEFAULT_MIN_PRECISION)),
        lexical_weight=float(data.get("lexical_weight", DEFAULT_LEXICAL_WEIGHT)),
    )


class IntentClassifier(LearnedClassifier):
    """A fitted intent classifier. Build with `IntentClassifier.train(...)`; ask with `predict` / `predict_one`."""

    def __init__(
        self, *, name: str, fit: CalibratedFit, classes: list[str], threshold: float, report: IntentReport
    ) -> None:
        super().__init__(fit=fit, classes=classes)
        self.name = name
        self.threshold = threshold
        self.report = report

    @classmethod
    def train(
        cls,
        examples: list[IntentExample],
        *,
        name: str,
        min_precision: float = DEFAULT_MIN_PRECISION,
        lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
        digest: str = "",
    ) -> IntentClassifier:
        started = time.perf_counter()
        classes = sorted({e.intent for e in examples})
        if len(classes) < 2:
            raise ValueError(f"{name}: an intent classifier needs at least two intents")
        labels = np.array([classes.index(e.intent) for e in examples])
        texts = [prepare(e.text) for e in examples]
        vectors = embedder.embed(texts)
        smallest = int(np.bincount(labels).min())
        fit = fit_calibrated(
            vectors,
            texts,
            labels,
            classes=len(classes),
            folds=max(2, min(_FOLDS, smallest)),
            regression=_REGRESSION,
            lexical_weight=lexical_weight,
        )

        folds = fit.out_of_fold(labels)
        correct = folds.correct
        threshold = precision_threshold(folds.confidences, correct, min_precision)
        kept = folds.confidences >= threshold
        report = IntentReport(
            name=name,
            examples=len(examples),
            per_intent={c: int((labels == i).sum()) for i, c in enumerate(classes)},
            oof_accuracy=round(float(correct.mean()), 4),
            oof_accuracy_kept=round(float(correct[kept].mean()) if kept.any() else 0.0, 4),
            oof_coverage=round(float(kept.mean()), 4),
            ece_uncalibrated=round(folds.ece_uncalibrated, 4),
            ece_calibrated=round(folds.ece_calibrated, 4),
            temperature=round(fit.temperature, 4),
            threshold=round(threshold, 4),
            seconds=round(time.perf_counter() - started, 2),
            digest=digest,
        )
        return cls(name=name, fit=fit, classes=classes, threshold=threshold, report=report)

    def predict(self, texts: list[str]) -> list[IntentPrediction]:
        if not texts:
            return []
        prepared = [prepare(t) for t in texts]
        vectors = _embed_cached([p or " " for p in prepared])
        predictions = []
        for text, probs in zip(prepared, self.probabilities(vectors, prepared), strict=True):
            best = int(probs.argmax())
            confidence = float(probs[best])
            intent = self.classes[best] if text and confidence >= self.threshold else None
            predictions.append(
                IntentPrediction(
                    intent=intent,
                    best=self.classes[best],
                    confidence=round(confidence, 4),
                    probabilities={c: round(float(p), 4) for c, p in zip(self.classes, probs, strict=True)},
                )
            )
        return predictions

    def predict_one(self, text: str) -> IntentPrediction:
        return self.predict([text])[0]


# A turn reads the same message several times (its intent, a hand-back check, the previous message's intent):
# the embedding of a recent text is kept, keyed by the prepared text.
_VECTOR_CACHE_SIZE = 512
_vectors: dict[str, np.ndarray] = {}
_vectors_lock = threading.Lock()


def _embed_cached(prepared: list[str]) -> np.ndarray:
    missing = [t for t in dict.fromkeys(prepared) if t not in _vectors]
    if missing:
        fresh = embedder.embed(missing)
        with _vectors_lock:
            if len(_vectors) + len(missing) > _VECTOR_CACHE_SIZE:
                _vectors.clear()
            _vectors.update(zip(missing, fresh, strict=True))
    return np.stack([_vectors[t] if t in _vectors else embedder.embed([t])[0] for t in prepared])


# --- the process-wide instances ------------------------------------------------

_lock = threading.Lock()
_classifiers: dict[str, IntentClassifier] = {}


def _cache_dir() -> Path:
    return var_dir("understanding")


def file_digest(path: Path) -> str:
    return training_digest(FORMAT_VERSION, _REGRESSION, [path.read_bytes()])


def train_file(path: Path, *, digest: str = "") -> IntentClassifier:
    """A classifier fitted on one example file, with the file's own calibration options."""
    loaded = load_intent_examples(path)
    return IntentClassifier.train(
        loaded.examples,
        name=loaded.name,
        min_precision=loaded.min_precision,
        lexical_weight=loaded.lexical_weight,
        digest=digest,
    )


def cache_path(path: Path, cache_dir: Path | None = None) -> Path:
    """Where the classifier fitted on the example file `path` is (or will be) cached."""
    return (cache_dir or _cache_dir()) / f"intents-{path.stem}-{file_digest(path)[:20]}.pickle"


def load_or_train(path: Path, *, cache_dir: Path) -> IntentClassifier:
    """The classifier for one example file: from the disk cache when it matches, else trained and cached."""
    digest = file_digest(path)
    return load_or_train_cached(
        cache_path(path, cache_dir),
        digest=digest,
        kind=IntentClassifier,
        train=lambda: train_file(path, digest=digest),
        what="intent classifier",
    )


def get_intent_classifier(name: str) -> IntentClassifier:
    """The process-wide classifier for `examples/<name>.yaml` (thread-safe, trained or loaded once)."""
    key = name
    classifier = _classifiers.get(key)
    if classifier is None:
        path = EXAMPLES_DIR / f"{name}.yaml"
        if not path.exists():
            raise LookupError(f"no intent examples for {name!r}")
        with _lock:
            classifier = _classifiers.get(key)
            if classifier is None:
                classifier = load_or_train(path, cache_dir=_cache_dir())
                _classifiers[key] = classifier
    return classifier


def detect_intent(specialist: str, text: str) -> IntentPrediction:
    """The customer's intent inside one specialist (`intent is None` when unclear)."""
    return get_intent_classifier(specialist).predict_one(text)
