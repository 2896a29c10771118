"""The local route classifier: sentence embeddings + logistic regression, calibrated.

Trained on the team's own examples (`examples/*.yaml`) the first time it is
needed, then cached on disk keyed by a hash of those files, the embedding model
and the scikit-learn version, so a changed example file retrains by itself.

Confidence is calibrated: a temperature fitted on out-of-fold predictions
(stratified k-fold over the examples) so that "0.8" means right about 80% of
the time on text like the examples. A message far from every in-scope example
(cosine similarity below a threshold chosen on the same folds) is answered
`out_of_scope`, on top of the `out_of_scope` class itself.

Features, fitting, calibration and the disk cache are the shared
`apps.agents.offline.learned_classifier`; this module adds the routes' examples
and the similarity threshold.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml

from apps.agents.offline import embedder
from apps.agents.offline import learned_classifier as learned
from apps.agents.routes import HUMAN, OUT_OF_SCOPE, ROUTES, SPECIALIST_ROUTES
from apps.agents.routing.tasks import TASKS_FILE, TaskGate, load_task_examples, neutral_views

logger = logging.getLogger(__name__)

# Examples of the routes that are not specialists; each specialist keeps its own in its package.
EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
SPECIALISTS_DIR = Path(__file__).resolve().parent.parent / "specialists"
# Bump when training, `normalise` or the cached object's shape changes.
FORMAT_VERSION = 12
_FOLDS = 5
_REGRESSION = learned.Regression(c=8.0, max_iter=2000)
# Character n-grams beside the embedding, scaled by this (0: the embedding alone).
LEXICAL_WEIGHT = 0.5
# A message routed `human` asks for a person, complains, or asks how to reach the shop: the learned `human` intents
# (`apps/agents/understanding/examples/human.yaml`) tell which (`Prediction.asks_for_person`).
HUMAN_INTENTS = "human"
PERSON_INTENT = "person"


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
    # Routed `human`, and the learned `human` intents read a request for a person (not a complaint, not a question
    # about how to reach the shop).
    asks_for_person: bool = False
    # Refused by the task gate (`routing.tasks`): a request for a task the shop does not do, whatever it names.
    task: bool = False


def best_in_scope(prediction: Prediction, *, why: str, passed_over: frozenset[str] = frozenset()) -> Prediction:
    """The likeliest specialist's verdict, for a message known to be about the shop (unchanged without one);
    `passed_over`: routes known not to fit either."""
    in_scope = {r: p for r, p in prediction.probabilities.items() if r != OUT_OF_SCOPE and r not in passed_over}
    if not in_scope:
        return prediction
    best = max(in_scope, key=in_scope.__getitem__)
    return replace(
        prediction, route=best, confidence=in_scope[best], reason=f"classifier: {best} p={in_scope[best]:.2f} ({why})"
    )


@dataclass
class RouteReport(learned.TrainingReport):
    per_route: dict[str, int]
    oof_macro_f1: float
    similarity_threshold: float
    far_precision: float
    task_gate: object = None  # the task gate's `TaskReport`


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
    files = [*example_files(directory), TASKS_FILE]
    return learned.training_digest(
        FORMAT_VERSION, _REGRESSION, (part for p in files for part in (_label(p).encode(), p.read_bytes()))
    )


class RouteClassifier(learned.LearnedClassifier):
    """A fitted classifier. Build with `RouteClassifier.train(...)`; predict with `predict([...])`."""

    def __init__(
        self,
        *,
        fit: learned.CalibratedFit,
        classes: list[str],
        in_scope_vectors: np.ndarray,
        similarity_threshold: float,
        far_confidence: float,
        report: RouteReport,
        task_gate: TaskGate | None = None,
    ) -> None:
        super().__init__(fit=fit, classes=classes)
        self.in_scope_vectors = in_scope_vectors
        self.similarity_threshold = similarity_threshold
        self.far_confidence = far_confidence
        self.report = report
        self.task_gate = task_gate

    # -- training ------------------------------------------------------------
    @classmethod
    def train(cls, examples: list[Example], *, digest: str = "") -> RouteClassifier:
        from sklearn.metrics import f1_score

        started = time.perf_counter()
        classes = [r for r in ROUTES if any(e.route == r for e in examples)]
        labels = np.array([classes.index(e.route) for e in examples])
        texts = [learned.normalise(e.text) for e in examples]
        vectors = embedder.embed(texts)
        oos_index = classes.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in classes else -1
        fit = learned.fit_calibrated(
            vectors,
            texts,
            labels,
            classes=len(classes),
            folds=_FOLDS,
            regression=_REGRESSION,
            lexical_weight=LEXICAL_WEIGHT,
        )

        # Nearest-in-scope similarities on the same folds, for the threshold.
        oof_similarity = np.zeros(len(examples))
        for train_idx, test_idx in fit.splits:
            in_scope = vectors[train_idx][labels[train_idx] != oos_index]
            oof_similarity[test_idx] = (vectors[test_idx] @ in_scope.T).max(axis=1)

        folds = fit.out_of_fold(labels)
        predicted = folds.predicted

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

        task_gate = _train_task_gate(
            vectors[labels != oos_index], [t for t, y in zip(texts, labels, strict=True) if y != oos_index]
        )
        report = RouteReport(
            examples=len(examples),
            per_route={c: int((labels == i).sum()) for i, c in enumerate(classes)},
            oof_accuracy=round(float((predicted == labels).mean()), 4),
            oof_macro_f1=round(float(f1_score(labels, predicted, average="macro")), 4),
            ece_uncalibrated=round(folds.ece_uncalibrated, 4),
            ece_calibrated=round(folds.ece_calibrated, 4),
            temperature=round(fit.temperature, 4),
            similarity_threshold=round(threshold, 2),
            far_precision=round(far_precision, 4),
            seconds=round(time.perf_counter() - started, 2),
            digest=digest,
            task_gate=task_gate.report,
        )
        return cls(
            fit=fit,
            classes=classes,
            in_scope_vectors=vectors[labels != oos_index],
            similarity_threshold=threshold,
            far_confidence=far_precision,
            report=report,
            task_gate=task_gate,
        )

    # -- prediction ----------------------------------------------------------
    def predict(self, texts: list[str]) -> list[Prediction]:
        if not texts:
            return []
        # Routing texts of concurrent turns share one encode (embedder.embed_coalesced).
        normalised = [learned.normalise(t) for t in texts]
        vectors = embedder.embed_coalesced(normalised)
        gate = self.task_gate
        tasks = np.zeros(len(texts))
        if gate is not None:
            # The task gate reads the message with its product nouns made neutral (`routing.tasks`).
            neutral, neutral_vectors = neutral_views(normalised, vectors, embedder.embed_coalesced)
            tasks = gate.task_probabilities(neutral_vectors, neutral)
        return _with_person_requests(texts, self.predict_vectors(vectors, normalised, tasks))

    def predict_vectors(
        self, vectors: np.ndarray, texts: list[str] | None = None, tasks: np.ndarray | None = None
    ) -> list[Prediction]:
        """Predictions for embedded texts (`texts`, as `normalise` left them, only matter with n-gram features);
        `tasks`: the task gate's probability for each (none: no task refused)."""
        probabilities = self.probabilities(vectors, texts or [])
        similarities = (vectors @ self.in_scope_vectors.T).max(axis=1)
        gate = self.task_gate
        tasks = np.zeros(len(vectors)) if tasks is None else tasks
        predictions = []
        for probs, similarity, task in zip(probabilities, similarities, tasks, strict=True):
            by_route = {c: round(float(p), 4) for c, p in zip(self.classes, probs, strict=True)}
            best = int(probs.argmax())
            route, confidence = self.classes[best], float(probs[best])
            reason = f"classifier: {route} p={confidence:.2f}"
            if similarity < self.similarity_threshold and route != OUT_OF_SCOPE:
                route = OUT_OF_SCOPE
                confidence = max(self.far_confidence, by_route.get(OUT_OF_SCOPE, 0.0))
                reason = f"unlike any shop request (similarity {similarity:.2f} < {self.similarity_threshold:.2f})"
            is_task = gate is not None and task >= gate.threshold
            if is_task:
                route, confidence = OUT_OF_SCOPE, max(float(task), by_route.get(OUT_OF_SCOPE, 0.0))
                reason = f"asks for a task the shop does not do (task p={task:.2f}; {reason})"
            predictions.append(
                Prediction(
                    route=route,
                    confidence=round(confidence, 4),
                    probabilities=by_route,
                    similarity=round(float(similarity), 4),
                    reason=reason,
                    task=is_task,
                )
            )
        return predictions


def _train_task_gate(in_scope_vectors: np.ndarray, in_scope_texts: list[str]) -> TaskGate:
    """The task gate (`routing.tasks`): its file's tasks against its support examples and every in-scope example."""
    own = load_task_examples()
    texts = [learned.normalise(t) for t in [*own.tasks, *own.support]]
    vectors = np.vstack([embedder.embed(texts), in_scope_vectors])
    is_task = np.array([True] * len(own.tasks) + [False] * (len(own.support) + len(in_scope_texts)))
    neutral, neutral_vectors = neutral_views([*texts, *in_scope_texts], vectors, embedder.embed)
    return TaskGate.train(neutral_vectors, neutral, is_task)


def _with_person_requests(texts: list[str], predictions: list[Prediction]) -> list[Prediction]:
    """`predictions`, those routed `human` marked when the learned `human` intents read a request for a person."""
    from apps.agents.understanding.intents import get_intent_classifier

    human = [i for i, p in enumerate(predictions) if p.route == HUMAN]
    if not human:
        return predictions
    intents = get_intent_classifier(HUMAN_INTENTS).predict([texts[i] for i in human])
    result = list(predictions)
    for i, intent in zip(human, intents, strict=True):
        result[i] = replace(result[i], asks_for_person=intent.best == PERSON_INTENT)
    return result


# --- the process-wide instance ---------------------------------------------

_lock = threading.Lock()
_classifier: RouteClassifier | None = None


def _cache_dir() -> Path:
    return learned.var_dir("routing")


def cache_path(directory: Path | None = None, cache_dir: Path | None = None) -> Path:
    """Where the classifier fitted on the current examples is (or will be) cached."""
    return (cache_dir or _cache_dir()) / f"route-classifier-{examples_digest(directory)[:20]}.pickle"


def _load_or_train(directory: Path | None, cache_dir: Path) -> RouteClassifier:
    digest = examples_digest(directory)
    return learned.load_or_train_cached(
        cache_path(directory, cache_dir),
        digest=digest,
        kind=RouteClassifier,
        train=lambda: RouteClassifier.train(load_examples(directory), digest=digest),
        what="route classifier",
    )


def get_classifier() -> RouteClassifier:
    """The process-wide classifier: loaded from the disk cache or trained on first use (thread-safe)."""
    global _classifier
    if _classifier is None:
        with _lock:
            if _classifier is None:
                _classifier = _load_or_train(None, _cache_dir())
    return _classifier
