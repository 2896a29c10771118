"""The local route classifier: sentence embeddings + logistic regression, calibrated.

Trained on the team's own examples (`examples/*.yaml`) the first time it is
needed, then cached on disk keyed by a hash of those files, the embedding model
and the scikit-learn version, so a changed example file retrains by itself.

Confidence is calibrated: a temperature fitted on out-of-fold predictions
(stratified k-fold over the examples) so that "0.8" means right about 80% of
the time on text like the examples. A message far from every in-scope example
(cosine similarity below a threshold chosen on the same folds) is answered
`out_of_scope`, on top of the `out_of_scope` class itself.
"""

from __future__ import annotations

import hashlib
import itertools
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
from apps.agents.offline.slots import order_number_spans
from apps.agents.routes import OUT_OF_SCOPE, ROUTES, SPECIALIST_ROUTES

logger = logging.getLogger(__name__)

# Examples of the routes that are not specialists; each specialist keeps its own in its package.
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
SPECIALISTS_DIR = Path(__file__).resolve().parent.parent / "specialists"
# Bump when training, `normalise` or the cached object's shape changes.
FORMAT_VERSION = 4
_FOLDS = 5
_REGULARISATION_C = 8.0


@dataclass(frozen=True)
class Example:
    text: str
    route: str
    intent: str


@dataclass(frozen=True)
class Prediction:
    route: str
    confidence: float
    probabilities: dict[str, float]
    similarity: float  # cosine similarity to the nearest in-scope example
    reason: str


@dataclass
class TrainingReport:
    examples: int
    per_route: dict[str, int]
    oof_accuracy: float
    oof_macro_f1: float
    ece_uncalibrated: float
    ece_calibrated: float
    temperature: float
    similarity_threshold: float
    far_precision: float
    seconds: float
    digest: str = ""
    extra: dict[str, float] = field(default_factory=dict)


def example_files(directory: Path | None = None) -> list[Path]:
    """`directory/*.yaml`; by default the non-specialist routes' files plus each specialist's `examples.yaml`."""
    if directory is not None:
        return sorted(directory.glob("*.yaml"))
    own = [SPECIALISTS_DIR / route / "examples.yaml" for route in SPECIALIST_ROUTES]
    # Ordered by route name, as one directory of `<route>.yaml` files would be (training is order-sensitive).
    return sorted([*EXAMPLES_DIR.glob("*.yaml"), *(p for p in own if p.exists())], key=lambda p: _label(p))


def _label(path: Path) -> str:
    """A file's name as if all lived in one directory: `order.yaml` for `specialists/order/examples.yaml`."""
    return f"{path.parent.name}.yaml" if path.name == "examples.yaml" else path.name


def load_examples(directory: Path | None = None) -> list[Example]:
    """Every example file's messages (`route:` plus `intents: {name: [messages]}`); see `example_files`."""
    examples: list[Example] = []
    for path in example_files(directory):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        route = data["route"]
        if route not in ROUTES:
            raise ValueError(f"{_label(path)}: unknown route {route!r}")
        for intent, messages in data["intents"].items():
            for message in messages:
                examples.append(Example(text=str(message), route=route, intent=intent))
    return examples


def examples_digest(directory: Path | None = None) -> str:
    import sklearn

    digest = hashlib.sha256()
    digest.update(f"{FORMAT_VERSION}|{embedder.MODEL_ID}|{sklearn.__version__}|{_REGULARISATION_C}".encode())
    for path in example_files(directory):
        digest.update(_label(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


_PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_SPACES_RE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Text as the classifier sees it: order numbers masked, template placeholders read as words.

    "where is TW-100234" and "where is order {{Order Number}}" both become
    "where is order number"-like text, so the classifier learns the request and
    not the digits.
    """
    out = text
    for start, end in reversed(order_number_spans(out)):
        out = out[:start] + " order number " + out[end:]
    out = _PLACEHOLDER_RE.sub(lambda m: " " + m.group(1).lower() + " ", out)
    out = _SPACES_RE.sub(" ", out).strip()
    return re.sub(r"\border order number\b", "order number", out, flags=re.IGNORECASE)


def _softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def expected_calibration_error(confidences: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """ECE over equal-width confidence bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = len(confidences)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        mask = (confidences > lo) & (confidences <= hi)
        if mask.any():
            ece += mask.sum() / total * abs(correct[mask].mean() - confidences[mask].mean())
    return float(ece)


def _fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        probs = _softmax(logits, float(np.exp(log_t)))
        return float(-np.log(probs[np.arange(len(labels)), labels] + 1e-12).mean())

    result = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


class RouteClassifier:
    """A fitted classifier. Build with `RouteClassifier.train(...)`; predict with `predict([...])`."""

    def __init__(
        self,
        *,
        model: object,
        classes: list[str],
        temperature: float,
        in_scope_vectors: np.ndarray,
        similarity_threshold: float,
        far_confidence: float,
        report: TrainingReport,
    ) -> None:
        self.model = model
        self.classes = classes
        self.temperature = temperature
        self.in_scope_vectors = in_scope_vectors
        self.similarity_threshold = similarity_threshold
        self.far_confidence = far_confidence
        self.report = report

    # -- training ------------------------------------------------------------
    @staticmethod
    def _new_model() -> object:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=_REGULARISATION_C, max_iter=2000, class_weight="balanced")

    @classmethod
    def train(cls, examples: list[Example], *, digest: str = "") -> RouteClassifier:
        from sklearn.metrics import f1_score
        from sklearn.model_selection import StratifiedKFold

        started = time.perf_counter()
        classes = [r for r in ROUTES if any(e.route == r for e in examples)]
        labels = np.array([classes.index(e.route) for e in examples])
        vectors = embedder.embed([normalise(e.text) for e in examples])
        oos_index = classes.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in classes else -1

        # Out-of-fold logits and nearest-in-scope similarities, for calibration and the threshold.
        oof_logits = np.zeros((len(examples), len(classes)))
        oof_similarity = np.zeros(len(examples))
        folds = StratifiedKFold(n_splits=_FOLDS, shuffle=True, random_state=7)
        for train_idx, test_idx in folds.split(vectors, labels):
            model = cls._new_model()
            model.fit(vectors[train_idx], labels[train_idx])
            oof_logits[test_idx] = model.decision_function(vectors[test_idx])
            in_scope = vectors[train_idx][labels[train_idx] != oos_index]
            oof_similarity[test_idx] = (vectors[test_idx] @ in_scope.T).max(axis=1)

        temperature = _fit_temperature(oof_logits, labels)
        raw = _softmax(oof_logits)
        calibrated = _softmax(oof_logits, temperature)
        predicted = calibrated.argmax(axis=1)
        ece_before = expected_calibration_error(raw.max(axis=1), predicted == labels)
        ece_after = expected_calibration_error(calibrated.max(axis=1), predicted == labels)

        # Similarity threshold: the largest one that costs no in-scope accuracy on the folds
        # beyond half a percent, so it only catches text unlike anything a shop is asked.
        threshold, far_precision = 0.0, 1.0
        if oos_index >= 0:
            base_correct = (predicted == labels).sum()
            for candidate in np.arange(0.20, 0.50, 0.01):
                far = oof_similarity < candidate
                decided = np.where(far, oos_index, predicted)
                if (decided == labels).sum() < base_correct - 0.005 * len(labels):
                    break
                threshold = float(candidate)
            far = oof_similarity < threshold
            if far.any():
                far_precision = float((labels[far] == oos_index).mean())
            predicted = np.where(far, oos_index, predicted)

        model = cls._new_model()
        model.fit(vectors, labels)
        report = TrainingReport(
            examples=len(examples),
            per_route={c: int((labels == i).sum()) for i, c in enumerate(classes)},
            oof_accuracy=round(float((predicted == labels).mean()), 4),
            oof_macro_f1=round(float(f1_score(labels, predicted, average="macro")), 4),
            ece_uncalibrated=round(ece_before, 4),
            ece_calibrated=round(ece_after, 4),
            temperature=round(temperature, 4),
            similarity_threshold=round(threshold, 2),
            far_precision=round(far_precision, 4),
            seconds=round(time.perf_counter() - started, 2),
            digest=digest,
        )
        return cls(
            model=model,
            classes=classes,
            temperature=temperature,
            in_scope_vectors=vectors[labels != oos_index],
            similarity_threshold=threshold,
            far_confidence=far_precision,
            report=report,
        )

    # -- prediction ----------------------------------------------------------
    def predict(self, texts: list[str]) -> list[Prediction]:
        if not texts:
            return []
        # Routing texts of concurrent turns share one encode (embedder.embed_coalesced).
        vectors = embedder.embed_coalesced([normalise(t) for t in texts])
        return self.predict_vectors(vectors)

    def predict_vectors(self, vectors: np.ndarray) -> list[Prediction]:
        probabilities = _softmax(self.model.decision_function(vectors), self.temperature)
        similarities = (vectors @ self.in_scope_vectors.T).max(axis=1)
        predictions = []
        for probs, similarity in zip(probabilities, similarities, strict=True):
            by_route = {c: round(float(p), 4) for c, p in zip(self.classes, probs, strict=True)}
            best = int(probs.argmax())
            route, confidence = self.classes[best], float(probs[best])
            reason = f"classifier: {route} p={confidence:.2f}"
            if similarity < self.similarity_threshold and route != OUT_OF_SCOPE:
                route = OUT_OF_SCOPE
                confidence = max(self.far_confidence, by_route.get(OUT_OF_SCOPE, 0.0))
                reason = f"unlike any shop request (similarity {similarity:.2f} < {self.similarity_threshold:.2f})"
            predictions.append(
                Prediction(
                    route=route,
                    confidence=round(confidence, 4),
                    probabilities=by_route,
                    similarity=round(float(similarity), 4),
                    reason=reason,
                )
            )
        return predictions


# --- the process-wide instance ---------------------------------------------

_lock = threading.Lock()
_classifier: RouteClassifier | None = None


def _cache_dir() -> Path:
    try:
        from django.conf import settings

        return Path(settings.VAR_DIR) / "routing"
    except Exception:  # noqa: BLE001 - usable without Django (bench, notebooks)
        return Path(__file__).resolve().parents[3] / "var" / "routing"


def cache_path(directory: Path | None = None, cache_dir: Path | None = None) -> Path:
    """Where the classifier fitted on the current examples is (or will be) cached."""
    return (cache_dir or _cache_dir()) / f"route-classifier-{examples_digest(directory)[:20]}.joblib"


def _load_or_train(directory: Path | None, cache_dir: Path) -> RouteClassifier:
    import joblib

    digest = examples_digest(directory)
    path = cache_path(directory, cache_dir)
    if path.exists():
        try:
            classifier = joblib.load(path)
            if isinstance(classifier, RouteClassifier) and classifier.report.digest == digest:
                return classifier
        except Exception:
            logger.warning("route classifier cache %s unreadable; retraining", path, exc_info=True)
    classifier = RouteClassifier.train(load_examples(directory), digest=digest)
    logger.info("route classifier trained: %s", classifier.report)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        os.close(fd)
        joblib.dump(classifier, tmp)
        os.replace(tmp, path)
    except OSError:
        logger.warning("could not cache the route classifier in %s", cache_dir, exc_info=True)
    return classifier


def get_classifier() -> RouteClassifier:
    """The process-wide classifier: loaded from the disk cache or trained on first use (thread-safe)."""
    global _classifier
    if _classifier is None:
        with _lock:
            if _classifier is None:
                _classifier = _load_or_train(None, _cache_dir())
    return _classifier
