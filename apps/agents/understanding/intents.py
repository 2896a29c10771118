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
model and scikit-learn's version) and once per process in memory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from apps.agents.offline import embedder
from apps.agents.routing.classifier import _fit_temperature, _softmax, expected_calibration_error, normalise

logger = logging.getLogger(__name__)

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
HELDOUT_DIR = Path(__file__).resolve().parent / "heldout"
SPECIALISTS: tuple[str, ...] = ("order", "returns", "billing", "faq")
# Bump when training, `prepare` or the cached object's shape changes.
FORMAT_VERSION = 2
_FOLDS = 5
_REGULARISATION_C = 8.0
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
class IntentReport:
    name: str
    examples: int
    per_intent: dict[str, int]
    oof_accuracy: float
    oof_accuracy_kept: float  # accuracy of the out-of-fold predictions above the threshold
    oof_coverage: float  # share of out-of-fold predictions above the threshold
    ece_uncalibrated: float
    ece_calibrated: float
    temperature: float
    threshold: float
    seconds: float
    digest: str = ""
    extra: dict[str, float] = field(default_factory=dict)


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


def _choose_threshold(confidences: np.ndarray, correct: np.ndarray, min_precision: float) -> float:
    """The lowest confidence at which the predictions kept are right at least `min_precision` of the time."""
    order = np.argsort(-confidences)
    kept_correct = np.cumsum(correct[order])
    precision = kept_correct / np.arange(1, len(order) + 1)
    ok = np.nonzero(precision >= min_precision)[0]
    if len(ok) == 0:
        return float(confidences.max())
    return float(confidences[order][ok[-1]])


class IntentClassifier:
    """A fitted intent classifier. Build with `IntentClassifier.train(...)`; ask with `predict` / `predict_one`."""

    def __init__(
        self,
        *,
        name: str,
        model: object,
        lexical: object | None,
        lexical_weight: float,
        classes: list[str],
        temperature: float,
        threshold: float,
        report: IntentReport,
    ) -> None:
        self.name = name
        self.model = model
        self.lexical = lexical
        self.lexical_weight = lexical_weight
        self.classes = classes
        self.temperature = temperature
        self.threshold = threshold
        self.report = report

    @staticmethod
    def _new_model() -> object:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=_REGULARISATION_C, max_iter=3000, class_weight="balanced", solver="newton-cg")

    @staticmethod
    def _new_lexical() -> object:
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=True)

    @staticmethod
    def _features(vectors: np.ndarray, lexical: object | None, texts: list[str], weight: float) -> object:
        if lexical is None or weight <= 0:
            return vectors
        from scipy.sparse import csr_matrix, hstack

        return hstack([csr_matrix(vectors), lexical.transform(texts) * weight]).tocsr()

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
        from sklearn.model_selection import StratifiedKFold

        started = time.perf_counter()
        classes = sorted({e.intent for e in examples})
        if len(classes) < 2:
            raise ValueError(f"{name}: an intent classifier needs at least two intents")
        labels = np.array([classes.index(e.intent) for e in examples])
        texts = [prepare(e.text) for e in examples]
        vectors = embedder.embed(texts)

        smallest = int(np.bincount(labels).min())
        folds = StratifiedKFold(n_splits=max(2, min(_FOLDS, smallest)), shuffle=True, random_state=7)
        oof_logits = np.zeros((len(examples), len(classes)))
        for train_idx, test_idx in folds.split(vectors, labels):
            lexical = cls._new_lexical() if lexical_weight > 0 else None
            if lexical is not None:
                lexical.fit([texts[i] for i in train_idx])
            model = cls._new_model()
            train_texts, test_texts = [texts[i] for i in train_idx], [texts[i] for i in test_idx]
            model.fit(cls._features(vectors[train_idx], lexical, train_texts, lexical_weight), labels[train_idx])
            fold_logits = model.decision_function(cls._features(vectors[test_idx], lexical, test_texts, lexical_weight))
            oof_logits[test_idx] = fold_logits if fold_logits.ndim == 2 else fold_logits[:, None]
        if len(classes) == 2:  # binary decision_function is one column: make it two logits
            oof_logits = np.column_stack([-oof_logits[:, 0] / 2, oof_logits[:, 0] / 2])

        temperature = _fit_temperature(oof_logits, labels)
        raw = _softmax(oof_logits)
        calibrated = _softmax(oof_logits, temperature)
        predicted = calibrated.argmax(axis=1)
        correct = predicted == labels
        confidences = calibrated.max(axis=1)
        threshold = _choose_threshold(confidences, correct, min_precision)
        kept = confidences >= threshold

        lexical = cls._new_lexical() if lexical_weight > 0 else None
        if lexical is not None:
            lexical.fit(texts)
        model = cls._new_model()
        model.fit(cls._features(vectors, lexical, texts, lexical_weight), labels)
        report = IntentReport(
            name=name,
            examples=len(examples),
            per_intent={c: int((labels == i).sum()) for i, c in enumerate(classes)},
            oof_accuracy=round(float(correct.mean()), 4),
            oof_accuracy_kept=round(float(correct[kept].mean()) if kept.any() else 0.0, 4),
            oof_coverage=round(float(kept.mean()), 4),
            ece_uncalibrated=round(expected_calibration_error(raw.max(axis=1), correct), 4),
            ece_calibrated=round(expected_calibration_error(confidences, correct), 4),
            temperature=round(temperature, 4),
            threshold=round(threshold, 4),
            seconds=round(time.perf_counter() - started, 2),
            digest=digest,
        )
        return cls(
            name=name,
            model=model,
            lexical=lexical,
            lexical_weight=lexical_weight,
            classes=classes,
            temperature=temperature,
            threshold=threshold,
            report=report,
        )

    def probabilities(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        logits = self.model.decision_function(self._features(vectors, self.lexical, texts, self.lexical_weight))
        if logits.ndim == 1:
            logits = np.column_stack([-logits / 2, logits / 2])
        return _softmax(logits, self.temperature)

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
    try:
        from django.conf import settings

        return Path(settings.VAR_DIR) / "understanding"
    except Exception:  # noqa: BLE001 - usable without Django (bench, notebooks)
        return Path(__file__).resolve().parents[3] / "var" / "understanding"


def file_digest(path: Path) -> str:
    import sklearn

    digest = hashlib.sha256()
    digest.update(f"{FORMAT_VERSION}|{embedder.MODEL_ID}|{sklearn.__version__}|{_REGULARISATION_C}".encode())
    digest.update(path.read_bytes())
    return digest.hexdigest()


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


def load_or_train(path: Path, *, cache_dir: Path) -> IntentClassifier:
    """The classifier for one example file: from the disk cache when it matches, else trained and cached."""
    import joblib

    digest = file_digest(path)
    cached = cache_dir / f"intents-{path.stem}-{digest[:20]}.joblib"
    if cached.exists():
        try:
            classifier = joblib.load(cached)
            if isinstance(classifier, IntentClassifier) and classifier.report.digest == digest:
                return classifier
        except Exception:
            logger.warning("intent classifier cache %s unreadable; retraining", cached, exc_info=True)
    classifier = train_file(path, digest=digest)
    logger.info("intent classifier trained: %s", classifier.report)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        os.close(fd)
        joblib.dump(classifier, tmp)
        os.replace(tmp, cached)
    except OSError:
        logger.warning("could not cache the intent classifier in %s", cache_dir, exc_info=True)
    return classifier


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
