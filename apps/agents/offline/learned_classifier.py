"""The learned text classifier both the router and the understanding layer are built on.

One recipe, two users: `apps.agents.routing.classifier` (which route a message
belongs to) and `apps.agents.understanding.intents` (which intent inside one
specialist, and the yes/no reader). Both

- see text through `normalise` (order numbers and template placeholders masked),
- featurise it as the MiniLM embedding, optionally beside character n-grams
  (`Features`: the embedding carries the meaning, the n-grams the short words and
  typos an embedding blurs),
- fit a class-balanced logistic regression and calibrate its confidence with a
  temperature fitted on out-of-fold logits (`fit_calibrated`), and
- cache the fitted object on disk under a digest of what it was trained on
  (`load_or_train_cached`), so changed examples retrain by themselves.

What each adds on top stays in its own module: the router's similarity threshold
for text unlike any shop request, the intents' precision threshold for "unclear".
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import itertools
import logging
import os
import pickle
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np

from apps.agents.offline import embedder
from apps.agents.offline.slots import order_number_spans
from apps.core.ngrams import TfidfNgrams

logger = logging.getLogger(__name__)

_FOLD_SEED = 7
_PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
_SPACES_RE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Text as a classifier sees it: order numbers masked, template placeholders read as words.

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


# --- calibration ----------------------------------------------------------------


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
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


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of `labels` under `softmax(logits / T)`."""
    from scipy.optimize import minimize_scalar

    def nll(log_t: float) -> float:
        probs = softmax(logits, float(np.exp(log_t)))
        return float(-np.log(probs[np.arange(len(labels)), labels] + 1e-12).mean())

    result = minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(result.x))


def precision_threshold(confidences: np.ndarray, correct: np.ndarray, min_precision: float) -> float:
    """The lowest confidence at which the predictions kept are right at least `min_precision` of the time."""
    order = np.argsort(-confidences)
    kept_correct = np.cumsum(correct[order])
    precision = kept_correct / np.arange(1, len(order) + 1)
    ok = np.nonzero(precision >= min_precision)[0]
    if len(ok) == 0:
        return float(confidences.max())
    return float(confidences[order][ok[-1]])


def _as_logits(decision: np.ndarray) -> np.ndarray:
    """A binary regression's one-column decision function as two logits (the same softmax as a sigmoid)."""
    return decision if decision.ndim == 2 else np.column_stack([-decision / 2, decision / 2])


# --- features and fitting -------------------------------------------------------


@dataclass(frozen=True)
class Regression:
    """The class-balanced logistic regression's settings; part of a cached classifier's digest."""

    c: float = 8.0
    max_iter: int = 2000
    solver: str = "lbfgs"

    def new(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.c, max_iter=self.max_iter, class_weight="balanced", solver=self.solver)


class Features:
    """The embedding, and with a positive `weight` character n-grams (TF-IDF, scaled by it) fitted on texts."""

    def __init__(self, lexical: Any | None, weight: float) -> None:
        self.lexical = lexical
        self.weight = weight

    @classmethod
    def fit(cls, texts: Sequence[str], weight: float) -> Features:
        if weight <= 0:
            return cls(None, weight)
        from sklearn.feature_extraction.text import TfidfVectorizer

        lexical = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, lowercase=True)
        lexical.fit(list(texts))
        return cls(lexical, weight)

    def transform(self, vectors: np.ndarray, texts: Sequence[str]) -> Any:
        if self.lexical is None:
            return vectors
        from scipy.sparse import csr_matrix, hstack

        return hstack([csr_matrix(vectors), self.lexical.transform(list(texts)) * self.weight]).tocsr()


@dataclass(kw_only=True)
class TrainingReport:
    """What every fitted classifier reports; the digest is what it was trained on (its disk cache checks it)."""

    examples: int
    oof_accuracy: float
    ece_uncalibrated: float
    ece_calibrated: float
    temperature: float
    seconds: float
    digest: str = ""


@dataclass(frozen=True)
class OutOfFold:
    """How the calibrated classifier did on the folds: what a training report is written from."""

    predicted: np.ndarray  # class index per example
    confidences: np.ndarray  # calibrated probability of the predicted class
    correct: np.ndarray
    ece_uncalibrated: float
    ece_calibrated: float


@dataclass
class CalibratedFit:
    """A regression fitted on every example, its temperature, and the out-of-fold logits it was calibrated on."""

    model: Any
    features: Features
    temperature: float
    oof_logits: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]  # the folds' (train, test) indices, for what a user adds on top

    def out_of_fold(self, labels: np.ndarray) -> OutOfFold:
        raw = softmax(self.oof_logits)
        calibrated = softmax(self.oof_logits, self.temperature)
        predicted = calibrated.argmax(axis=1)
        correct = predicted == labels
        confidences = calibrated.max(axis=1)
        return OutOfFold(
            predicted=predicted,
            confidences=confidences,
            correct=correct,
            ece_uncalibrated=expected_calibration_error(raw.max(axis=1), correct),
            ece_calibrated=expected_calibration_error(confidences, correct),
        )


def fit_calibrated(
    vectors: np.ndarray,
    texts: Sequence[str],
    labels: np.ndarray,
    *,
    classes: int,
    folds: int,
    regression: Regression,
    lexical_weight: float = 0.0,
) -> CalibratedFit:
    """Stratified k-fold logits (each fold's features fitted on its own training part), a temperature fitted on
    them, and the final regression on all examples."""
    from sklearn.model_selection import StratifiedKFold

    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=_FOLD_SEED).split(vectors, labels))
    oof_logits = np.zeros((len(labels), classes))
    for train_idx, test_idx in splits:
        features = Features.fit([texts[i] for i in train_idx], lexical_weight)
        model = regression.new()
        model.fit(features.transform(vectors[train_idx], [texts[i] for i in train_idx]), labels[train_idx])
        test = features.transform(vectors[test_idx], [texts[i] for i in test_idx])
        oof_logits[test_idx] = _as_logits(model.decision_function(test))
    features = Features.fit(texts, lexical_weight)
    model = regression.new()
    model.fit(features.transform(vectors, texts), labels)
    return CalibratedFit(
        model=model,
        features=features,
        temperature=fit_temperature(oof_logits, labels),
        oof_logits=oof_logits,
        splits=splits,
    )


class LearnedClassifier:
    """A fitted classifier over `classes`: the regression's coefficients, its n-gram vocabulary and its calibration
    temperature, exported to numpy arrays (`apps.core.ngrams`), so that predicting (and loading a cached
    classifier) never imports scikit-learn or SciPy."""

    def __init__(self, *, fit: CalibratedFit, classes: list[str]) -> None:
        # As fitted (float32 when the regression was fitted on the embedding alone): the same arithmetic as
        # scikit-learn's decision_function, so the probabilities are its own.
        self.coef = np.array(fit.model.coef_)  # (1 or len(classes), embedding + n-grams)
        self.intercept = np.array(fit.model.intercept_)
        lexical = fit.features.lexical
        self.lexical = TfidfNgrams.export(lexical) if lexical is not None else None
        self.lexical_weight = fit.features.weight
        self.temperature = fit.temperature
        self.classes = classes

    def decision(self, vectors: np.ndarray, texts: Sequence[str] = ()) -> np.ndarray:
        """The regression's decision function (scikit-learn's `decision_function` on `Features.transform`)."""
        if self.lexical is None:
            out = vectors @ self.coef.T + self.intercept
        else:  # scikit-learn stacks the embedding beside the float64 n-grams
            dims = vectors.shape[1]
            lexical = self.lexical.transform(list(texts)).dot(self.coef[:, dims:].T) * self.lexical_weight
            out = np.asarray(vectors, dtype=np.float64) @ self.coef[:, :dims].T + lexical + self.intercept
        return out.ravel() if self.coef.shape[0] == 1 else out

    def probabilities(self, vectors: np.ndarray, texts: Sequence[str] = ()) -> np.ndarray:
        """Calibrated probabilities, one row per vector (`texts` only matter with n-gram features).

        The rows of the last `RECENT_INPUTS` inputs are remembered: one turn asks about the same text several
        times (the router, its check for a person in each clause, the planner's pieces, a specialist's reading),
        and the n-gram features and the regression cost more than the lookup."""
        vectors = np.asarray(vectors)
        lexical = self.lexical is not None
        keys = [(vector.tobytes(), texts[i] if lexical else "") for i, vector in enumerate(vectors)]
        recent: dict[tuple[bytes, str], np.ndarray] = self.__dict__.setdefault("_recent", {})
        rows = {key: row for key in keys if (row := recent.get(key)) is not None}
        first: dict[tuple[bytes, str], int] = {}
        for i, key in enumerate(keys):
            if key not in rows:
                first.setdefault(key, i)
        missing = list(first.values())
        if missing:
            fresh = self._probabilities(vectors[missing], [texts[i] for i in missing] if lexical else ())
            if len(recent) + len(missing) > RECENT_INPUTS:
                recent.clear()
            for i, row in zip(missing, fresh, strict=True):
                row.setflags(write=False)
                rows[keys[i]] = recent[keys[i]] = row
        return np.stack([rows[key] for key in keys]) if keys else self._probabilities(vectors, texts)

    def _probabilities(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        return softmax(_as_logits(self.decision(vectors, texts)), self.temperature)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (the disk cache) without the memory of recent inputs."""
        state = dict(self.__dict__)
        state.pop("_recent", None)
        return state


RECENT_INPUTS = 512


# --- the disk cache ---------------------------------------------------------------


def training_digest(format_version: int, regression: Regression, parts: Iterable[bytes]) -> str:
    """The sha256 of what a cached classifier depends on: its format, the embedding model, scikit-learn's
    version, the regression, and the caller's `parts` (its example files)."""
    # The installed version, read without importing scikit-learn (a loaded classifier never needs it).
    sklearn_version = importlib.metadata.version("scikit-learn")
    digest = hashlib.sha256()
    digest.update(f"{format_version}|{embedder.MODEL_ID}|{sklearn_version}|{regression.c}".encode())
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


def var_dir(name: str) -> Path:
    """`var/<name>`: under Django's `VAR_DIR`, or beside the repository when Django is not configured."""
    try:
        from django.conf import settings

        return Path(settings.VAR_DIR) / name
    except Exception:  # noqa: BLE001 - usable without Django (bench, notebooks)
        return Path(__file__).resolve().parents[3] / "var" / name


class _Reported(Protocol):
    report: Any


C = TypeVar("C", bound=_Reported)


def load_or_train_cached(path: Path, *, digest: str, kind: type[C], train: Callable[[], C], what: str) -> C:
    """The classifier cached at `path` when it is a `kind` trained on `digest`; else `train()`, cached atomically.

    An unreadable cache file is retrained, never fatal; a cache that cannot be written is only logged.
    """
    if path.exists():
        try:
            with path.open("rb") as cached_file:
                cached = pickle.load(cached_file)  # noqa: S301 - our own cache directory, written below
            if isinstance(cached, kind) and cached.report.digest == digest:
                return cached
        except Exception:
            logger.warning("%s cache %s unreadable; retraining", what, path, exc_info=True)
    trained = train()
    logger.info("%s trained: %s", what, trained.report)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        with open(tmp, "wb") as out:
            pickle.dump(trained, out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        logger.warning("could not cache the %s in %s", what, path.parent, exc_info=True)
    return trained
