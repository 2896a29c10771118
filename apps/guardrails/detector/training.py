"""Fitting and calibrating the learned detector (`manage.py train_injection_detector`).

1. Split the examples (`examples.split`): 25% of every family is held out.
2. On the development 75%, leave-one-writer-out out-of-fold scores (operating_point.writer_folds: one fold
   per writer of data/written*/, each with a stratified share of the team's texts; each text scored by its
   most suspicious view, as at run time) for every C of the grid; operating_point.choose picks C and the
   threshold: the lowest threshold that keeps out-of-fold false positives on customer messages (the routing
   and intent examples and the team's customer look-alikes: "ignore my last message", "password reset",
   angry customers) within 0.5% and the left-out writers' false positives on their benign look-alikes within
   5% on average, and the C whose threshold gives the best mean recall on the left-out writers' attacks.
   The neighbour features (neighbours.py) of a fold's texts are read against that fold's training texts only.
   Each fit reads the texts as written and, beside them, the views serving scores (_extra_view_rows): every
   view of a benign text (a long message's sentences and chunks, a short one's sentences, its English reading)
   as benign, and an attack's readings that say all it says (de-obfuscated, decoded, read into English) as
   attacks; an attack's sentences are not known to be attacks and are left out.
3. Fit on all of the development set and report the held-out figures (the team's
   held-out quarter and the written held-out files), which were never used for any
   choice above.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from . import examples as ex
from . import model as detector_model
from . import operating_point
from .model import (
    DENSE,
    EMBEDDING_DIMENSIONS,
    HASHED,
    RULE_IDS,
    SHAPES,
    Weights,
    cheap_features,
    dense_rows,
    labelled_views,
    shape_features,
    view_scores,
    view_table,
)
from .neighbours import FEATURES as NEIGHBOUR_FEATURES
from .neighbours import Reference, neighbour_features, save_reference
from .operating_point import CUSTOMER_FP_BUDGET, WRITER_FP_BUDGET, Scored
from .sketch import sketches
from .weighting import text_weights

SHAPE_START = EMBEDDING_DIMENSIONS + NEIGHBOUR_FEATURES
C_GRID = (1.0, 4.0, 16.0, 64.0)
# Benign families that are customer messages (with the routing examples): false positives
# there block a real customer, so their budget is tight. The rest (general-assistant
# requests, role-play prompts, documents) are deliberately hard look-alikes.
CUSTOMER_FAMILIES = frozenset(
    {
        "angry",
        "retract",
        "urgency",
        "system_questions",
        "risky_words",
        "orders",
        "orders_more",
        "other_languages",
        "customer_lookalike",
        "customer_lookalike_de",
        "customer_requests_more",
        "customer_requests_more_de",
        "customer_short_more",
    }
)
SEED = 12
PARALLEL_FITS = 4


@dataclass(frozen=True)
class TrainingResult:
    weights: Weights
    report: dict
    scored: Scored | None = None  # the selection's out-of-fold scores (train_injection_detector --dump-scores)


@dataclass(frozen=True)
class ViewMatrix:
    """Every view of every text (as served: model.view_table): embeddings, sketches, cheap features, view
    counts."""

    vectors: np.ndarray
    sketches: np.ndarray
    cheap: object  # CSR
    counts: list[int]
    whole: np.ndarray  # per view: says what its whole text says (not a window or sentence of it)
    shapes: np.ndarray | None = None  # model.shape_features of each view (None: computed as zeros)

    def __post_init__(self) -> None:
        if self.shapes is None:
            object.__setattr__(self, "shapes", np.zeros((len(self.whole), SHAPES), dtype=np.float32))

    @classmethod
    def of(cls, texts: Sequence[str]) -> ViewMatrix:
        flat, scopes, counts = view_table([[t if t.strip() else " "] for t in texts])
        # Through the module: cache.installed() swaps model.embed for the disk cache.
        return cls(
            vectors=detector_model.embed(flat),
            sketches=sketches(flat),
            cheap=cheap_features(flat, scopes),
            counts=counts,
            whole=np.array([w for t in texts for _, w in labelled_views(t if t.strip() else " ")], dtype=bool),
            shapes=shape_features(flat),
        )

    def texts(self, rows: np.ndarray) -> ViewMatrix:
        """The views of these texts only, in the order of `rows` (sorted)."""
        owner = np.repeat(np.arange(len(self.counts)), self.counts)
        keep = np.isin(owner, rows)
        return ViewMatrix(
            self.vectors[keep],
            self.sketches[keep],
            self.cheap[keep],
            [self.counts[i] for i in rows],
            self.whole[keep],
            self.shapes[keep],
        )


def text_scores(coef: np.ndarray, intercept: float, views: ViewMatrix, reference: Reference) -> np.ndarray:
    """Each text's score as served (model.view_scores)."""
    cheap = np.asarray(views.cheap @ coef[DENSE:]).ravel()
    return view_scores(
        coef,
        intercept,
        cheap,
        views.counts,
        lambda chosen: (views.vectors[chosen], views.sketches[chosen], views.shapes[chosen]),
        reference,
    )


def _fitting_matrix(vectors: np.ndarray, text_sketches: np.ndarray, shapes: np.ndarray, cheap, reference: Reference):
    """Features of the texts as written; they are the reference's rows in order, none is its own neighbour."""
    import scipy.sparse as sparse

    near = neighbour_features(vectors, text_sketches, reference, exclude_self=np.arange(len(vectors)))
    return sparse.hstack([sparse.csr_matrix(dense_rows(vectors, near, shapes)), cheap]).tocsr()


def _extra_view_rows(views: ViewMatrix, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(view rows, owner text) of the views fitted beside the texts as written: every view of a benign text
    other than the text itself (the windows and sentences a long customer message is scored by; served, a
    message scores as its most suspicious view, so each is a benign example of its own), and an attack's
    readings that say what it says (de-obfuscated, decoded, read into English), not its parts."""
    counts = np.asarray(views.counts)
    owner = np.repeat(np.arange(len(counts)), counts)
    first = np.zeros(len(owner), dtype=bool)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(counts) else np.zeros(0, int)
    first[starts[counts > 0]] = True
    first &= views.whole  # the text itself, unless it is read in windows
    readings = ~first & views.whole
    parts = ~views.whole
    keep = readings | (parts & (y[owner] == ex.BENIGN))
    return np.flatnonzero(keep), owner[keep]


def _fitting_with_views(
    vectors: np.ndarray,
    text_sketches: np.ndarray,
    shapes: np.ndarray,
    cheap,
    y: np.ndarray,
    views: ViewMatrix,
    reference: Reference,
):
    """(matrix, labels, owners): the texts as written, then the views _extra_view_rows picks, with their text's
    label and index (none is its own text's neighbour)."""
    import scipy.sparse as sparse

    fitting = _fitting_matrix(vectors, text_sketches, shapes, cheap, reference)
    rows, owners = _extra_view_rows(views, y)
    near = neighbour_features(views.vectors[rows], views.sketches[rows], reference, exclude_self=owners)
    dense = dense_rows(views.vectors[rows], near, views.shapes[rows])
    extra = sparse.hstack([sparse.csr_matrix(dense), views.cheap[rows]]).tocsr()
    matrix = sparse.vstack([fitting, extra]).tocsr()
    return matrix, np.concatenate([y, y[owners]]), np.concatenate([np.arange(len(y)), owners])


def _threshold_for(scores: np.ndarray, budget: float) -> float:
    """Lowest threshold whose false-positive rate on these benign scores is within budget."""
    if len(scores) == 0:
        return 0.5
    allowed = int(np.floor(budget * len(scores)))
    ordered = np.sort(scores)[::-1]
    # Trip strictly above the (allowed+1)-th highest benign score.
    return float(np.nextafter(ordered[allowed], 1.0)) if allowed < len(ordered) else 0.0


def _fit(x: np.ndarray, y: np.ndarray, c: float, sample_weight: np.ndarray | None = None):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
    model.fit(x, y, sample_weight=sample_weight)
    return model


def _fold_scores(
    vectors: np.ndarray,
    text_sketches: np.ndarray,
    shapes: np.ndarray,
    cheap_first,
    y: np.ndarray,
    views: ViewMatrix,
    reference: Reference,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    c: float,
    weights: np.ndarray,
) -> np.ndarray:
    """Out-of-fold scores of one fold's test texts, neighbours read among its training texts only."""
    fold_reference = reference.subset(train_idx)
    fitting, labels, owners = _fitting_with_views(
        vectors[train_idx],
        text_sketches[train_idx],
        shapes[train_idx],
        cheap_first[train_idx],
        y[train_idx],
        views.texts(train_idx),
        fold_reference,
    )
    model = _fit(fitting, labels, c, weights[train_idx][owners])
    return text_scores(model.coef_[0], float(model.intercept_[0]), views.texts(test_idx), fold_reference)


def _is_customer(family: str) -> bool:
    return family.startswith("routing:") or family in CUSTOMER_FAMILIES


def evaluate(scores: np.ndarray, labels: np.ndarray, families: list[str], threshold: float) -> dict:
    tripped = scores >= threshold
    attacks = labels == ex.ATTACK
    routing = np.array([_is_customer(f) for f in families])
    team_benign = ~attacks & ~routing
    by_family: dict[str, dict[str, float]] = {}
    for label, family in sorted(set(zip(labels.tolist(), families, strict=True))):
        mask = np.array([f == family for f in families]) & (labels == label)
        key = "recall" if label == ex.ATTACK else "false_positive_rate"
        name = family if family not in by_family else f"{family} ({'attacks' if label == ex.ATTACK else 'benign'})"
        by_family[name] = {"n": int(mask.sum()), key: round(float(tripped[mask].mean()), 3)}
    return {
        "attacks": int(attacks.sum()),
        "recall": round(float(tripped[attacks].mean()), 3) if attacks.any() else 0.0,
        "lookalike_benign": int(team_benign.sum()),
        "lookalike_fp": round(float(tripped[team_benign].mean()), 4) if team_benign.any() else 0.0,
        "customer_benign": int(routing.sum()),
        "customer_fp": round(float(tripped[routing].mean()), 4) if routing.any() else 0.0,
        "by_family": by_family,
    }


@dataclass(frozen=True)
class Features:
    """What fitting and calibration read of a list of texts, computed once: every view as served (embedded,
    sketched, cheap features) and each text as written (its embedding, sketch and cheap features)."""

    views: ViewMatrix
    vectors: np.ndarray
    sketches: np.ndarray
    cheap: object  # CSR
    shapes: np.ndarray

    @classmethod
    def of(cls, texts: Sequence[str]) -> Features:
        # Through the module: cache.installed() swaps model.embed for the disk cache.
        return cls(
            views=ViewMatrix.of(texts),
            vectors=detector_model.embed(list(texts)),
            sketches=sketches(texts),
            cheap=cheap_features(list(texts)),
            shapes=shape_features(list(texts)),
        )

    def rows(self, rows: np.ndarray) -> Features:
        return Features(
            self.views.texts(rows), self.vectors[rows], self.sketches[rows], self.cheap[rows], self.shapes[rows]
        )


@dataclass(frozen=True)
class Fitted:
    coef: np.ndarray
    intercept: float
    threshold: float
    c: float
    reference: Reference
    oof: np.ndarray
    grid_report: dict[str, float]  # mean left-out-writer recall at each C's threshold
    scored: Scored | None = None  # every C's out-of-fold scores (operating_point)
    selection: dict | None = None  # operating_point.report: the choice, every C's point, the nested check

    def scores(self, views: ViewMatrix) -> np.ndarray:
        return text_scores(self.coef, self.intercept, views, self.reference)


def fit_and_calibrate(development: list[ex.Example], features: Features, *, c_grid: Sequence[float] = C_GRID) -> Fitted:
    """Steps 2 and 3 of the module docstring on these development examples (features: theirs, in order)."""
    from joblib import Parallel, delayed

    y = np.array([e.label for e in development])
    weights = text_weights(development)
    vectors, text_sketches, cheap_first, views = features.vectors, features.sketches, features.cheap, features.views
    shapes = features.shapes
    # Fitting uses each example as written (a long one truncated by the embedder); views are for scoring.
    reference = Reference.of(vectors, y, text_sketches)

    _, splits = operating_point.writer_folds(development, seed=SEED)
    folds = len(splits)
    # Every (C, fold) fit in parallel worker processes: on a shared host each gets its share of the CPU.
    fitted = Parallel(n_jobs=PARALLEL_FITS)(
        delayed(_fold_scores)(
            vectors, text_sketches, shapes, cheap_first, y, views, reference, train_idx, test_idx, c, weights
        )
        for c in c_grid
        for train_idx, test_idx in splits
    )
    by_c: dict[float, np.ndarray] = {}
    for index, c in enumerate(c_grid):
        oof = np.zeros(len(development))
        for (_, test_idx), scores in zip(splits, fitted[index * folds : (index + 1) * folds], strict=True):
            oof[test_idx] = scores
        by_c[c] = oof
    scored = Scored(
        by_c=by_c,
        labels=y,
        customer=np.array([_is_customer(e.family) for e in development]),
        writer=np.array([operating_point.writer_of(e.family) for e in development]),
    )
    chosen = operating_point.choose(scored)
    selection = operating_point.report(scored, chosen)
    c, threshold = chosen["C"], chosen["threshold"]
    fitting, labels, owners = _fitting_with_views(vectors, text_sketches, shapes, cheap_first, y, views, reference)
    model = _fit(fitting, labels, c, weights[owners])
    return Fitted(
        coef=model.coef_[0].astype(np.float32),
        intercept=float(model.intercept_[0]),
        threshold=threshold,
        c=c,
        reference=reference,
        oof=by_c[c],
        grid_report={k: v["mean_writer_recall"] for k, v in selection["by_C"].items()},
        scored=scored,
        selection=selection,
    )


def train() -> TrainingResult:
    import sklearn

    from apps.agents.offline.embedder import MODEL_ID

    started = time.perf_counter()
    development, held_out = ex.split(ex.all_examples())
    y = np.array([e.label for e in development])
    families = [e.family for e in development]
    fitted = fit_and_calibrate(development, Features.of([e.text for e in development]))
    threshold, reference = fitted.threshold, fitted.reference
    meta = {
        "model": MODEL_ID,
        "sklearn": sklearn.__version__,
        "C": fitted.c,
        "customer_fp_budget": CUSTOMER_FP_BUDGET,
        "writer_fp_budget": WRITER_FP_BUDGET,
        "split_seed": ex.SPLIT_SEED,
        "development": len(development),
        "held_out": len(held_out),
        "lowo_recall_by_C": fitted.grid_report,
        "operating_point": fitted.selection,
        "oof": evaluate(fitted.oof, y, families, threshold),
    }
    weights = Weights(
        coef=fitted.coef,
        intercept=fitted.intercept,
        threshold=threshold,
        digest=ex.data_digest(),
        meta=meta,
        reference=reference,
    )

    ho_scores = text_scores(weights.coef, weights.intercept, ViewMatrix.of([e.text for e in held_out]), reference)
    meta["held_out_learned"] = evaluate(
        ho_scores, np.array([e.label for e in held_out]), [e.family for e in held_out], threshold
    )
    for name, written_held_out in ex.written_held_out_sets().items():
        meta[f"{name}_held_out_learned"] = evaluate(
            text_scores(weights.coef, weights.intercept, ViewMatrix.of([e.text for e in written_held_out]), reference),
            np.array([e.label for e in written_held_out]),
            [e.family for e in written_held_out],
            threshold,
        )
    meta["seconds"] = round(time.perf_counter() - started, 1)
    return TrainingResult(weights=weights, report=meta, scored=fitted.scored)


def save(weights: Weights, path) -> None:
    """weights.json and, beside it, the neighbours' reference vectors (reference.npz)."""
    import json

    from .neighbours import REFERENCE_PATH

    path.write_text(json.dumps(to_json(weights), indent=1) + "\n", encoding="utf-8")
    save_reference(weights.reference, path.parent / REFERENCE_PATH.name)


def to_json(weights: Weights) -> dict:
    words = weights.coef[DENSE : DENSE + HASHED]
    rules = weights.coef[DENSE + HASHED :]
    return {
        "format": 6,
        "digest": weights.digest,
        "intercept": round(weights.intercept, 6),
        "threshold": round(weights.threshold, 6),
        "embedding_coef": [round(float(v), 6) for v in weights.coef[:EMBEDDING_DIMENSIONS]],
        "neighbour_coef": [round(float(v), 6) for v in weights.coef[EMBEDDING_DIMENSIONS:SHAPE_START]],
        "shape_coef": [round(float(v), 6) for v in weights.coef[SHAPE_START:DENSE]],
        # Rounded to 4 places and zeros dropped: the character n-grams are many, the file stays small.
        "word_coef": {str(i): round(float(words[i]), 4) for i in np.flatnonzero(np.round(words, 4))},
        "rule_coef": {rule_id: round(float(v), 6) for rule_id, v in zip(RULE_IDS, rules, strict=True)},
        "meta": weights.meta,
    }
