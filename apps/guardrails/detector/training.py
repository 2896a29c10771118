"""Fitting and calibrating the learned detector (`manage.py train_injection_detector`).

1. Split the examples (`examples.split`): 25% of every family is held out.
2. On the development 75%, stratified 5-fold out-of-fold scores (each text scored
   by its most suspicious view, as at run time) pick the regularisation C with the
   best recall at the false-positive budget, then the threshold: the lowest that
   keeps out-of-fold false positives within CUSTOMER_FP_BUDGET (0.5%) on customer
   messages (the routing examples and the team's customer look-alikes: "ignore my
   last message", "password reset", angry customers), within LOOKALIKE_FP_BUDGET
   on general-assistant requests, role-play prompts and documents, and within
   WRITTEN_FP_BUDGET on the written benign training examples.
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
from .model import EMBEDDING_DIMENSIONS, HASHED, RULE_IDS, Weights, choose_views, features, view_table

C_GRID = (1.0, 4.0, 16.0, 64.0)
FOLDS = 5
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
CUSTOMER_FP_BUDGET = 0.005
LOOKALIKE_FP_BUDGET = 0.05
# The written benign examples (data/written/benign_train.txt) mix customer messages with trigger words,
# other languages, creative requests and quoted documents: a budget between the two.
WRITTEN_FP_BUDGET = 0.02
SEED = 12


@dataclass(frozen=True)
class TrainingResult:
    weights: Weights
    report: dict


def _view_matrix(texts: Sequence[str]):
    """Features of every view of every text (as served: model.view_table), and each text's view count."""
    flat, scopes, counts = view_table([[t if t.strip() else " "] for t in texts])
    return features(flat, scopes), counts


def text_scores(coef: np.ndarray, intercept: float, matrix, counts: list[int]) -> np.ndarray:
    """Each text's score as served (model.score_groups): the cheap part of every view, the full score of
    the views choose_views picks, the most suspicious of those."""
    cheap = np.asarray(matrix[:, EMBEDDING_DIMENSIONS:] @ coef[EMBEDDING_DIMENSIONS:]).ravel() + intercept
    chosen = choose_views(cheap, counts)
    dense = matrix[chosen][:, :EMBEDDING_DIMENSIONS]
    logits = cheap[chosen] + np.asarray(dense @ coef[:EMBEDDING_DIMENSIONS]).ravel()
    probs = 1.0 / (1.0 + np.exp(-logits))
    out = np.zeros(len(counts), dtype=np.float64)
    owner = np.repeat(np.arange(len(counts)), counts)[chosen]
    np.maximum.at(out, owner, probs)
    return out


def _threshold_for(scores: np.ndarray, budget: float) -> float:
    """Lowest threshold whose false-positive rate on these benign scores is within budget."""
    if len(scores) == 0:
        return 0.5
    allowed = int(np.floor(budget * len(scores)))
    ordered = np.sort(scores)[::-1]
    # Trip strictly above the (allowed+1)-th highest benign score.
    return float(np.nextafter(ordered[allowed], 1.0)) if allowed < len(ordered) else 0.0


def _fit(x: np.ndarray, y: np.ndarray, c: float):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, class_weight="balanced", max_iter=2000)
    model.fit(x, y)
    return model


def _weights_of(model, *, threshold: float, digest: str, meta: dict) -> Weights:
    return Weights(
        coef=model.coef_[0].astype(np.float32),
        intercept=float(model.intercept_[0]),
        threshold=threshold,
        digest=digest,
        meta=meta,
    )


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


def train() -> TrainingResult:
    import sklearn
    from sklearn.model_selection import StratifiedKFold

    from apps.agents.offline.embedder import MODEL_ID

    started = time.perf_counter()
    development, held_out = ex.split(ex.all_examples())
    dev_texts = [e.text for e in development]
    y = np.array([e.label for e in development])
    families = [e.family for e in development]
    customer = np.array([_is_customer(f) for f in families])
    written = np.array([ex.is_written(f) for f in families])

    vectors, counts = _view_matrix(dev_texts)
    # Fitting uses each example as written (a long one truncated by the embedder); views are for scoring.
    first = features(dev_texts)
    view_owner = np.repeat(np.arange(len(counts)), counts)

    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    strata = [f"{e.label}:{e.family.split(':')[0]}" for e in development]
    best: tuple[float, float, float, np.ndarray] | None = None  # recall, c, threshold, oof
    grid_report: dict[str, float] = {}
    for c in C_GRID:
        oof = np.zeros(len(development))
        for train_idx, test_idx in folds.split(first, strata):
            model = _fit(first[train_idx], y[train_idx], c)
            in_test = np.isin(view_owner, test_idx)
            oof[test_idx] = text_scores(
                model.coef_[0], float(model.intercept_[0]), vectors[in_test], [counts[i] for i in test_idx]
            )
        benign = y == ex.BENIGN
        threshold = max(
            _threshold_for(oof[benign & customer], CUSTOMER_FP_BUDGET),
            _threshold_for(oof[benign & ~customer & ~written], LOOKALIKE_FP_BUDGET),
            _threshold_for(oof[benign & written], WRITTEN_FP_BUDGET),
        )
        recall = float((oof[y == ex.ATTACK] >= threshold).mean())
        grid_report[str(c)] = round(recall, 3)
        if best is None or recall > best[0]:
            best = (recall, c, threshold, oof)
    assert best is not None
    _, c, threshold, oof = best

    model = _fit(first, y, c)
    meta = {
        "model": MODEL_ID,
        "sklearn": sklearn.__version__,
        "C": c,
        "customer_fp_budget": CUSTOMER_FP_BUDGET,
        "lookalike_fp_budget": LOOKALIKE_FP_BUDGET,
        "written_fp_budget": WRITTEN_FP_BUDGET,
        "split_seed": ex.SPLIT_SEED,
        "development": len(development),
        "held_out": len(held_out),
        "oof_recall_by_C": grid_report,
        "oof": evaluate(oof, y, families, threshold),
    }
    weights = _weights_of(model, threshold=threshold, digest=ex.data_digest(), meta=meta)

    ho_texts = [e.text for e in held_out]
    ho_vectors, ho_counts = _view_matrix(ho_texts)
    ho_scores = text_scores(weights.coef, weights.intercept, ho_vectors, ho_counts)
    meta["held_out_learned"] = evaluate(
        ho_scores, np.array([e.label for e in held_out]), [e.family for e in held_out], threshold
    )
    for name, written_held_out in ex.written_held_out_sets().items():
        w_vectors, w_counts = _view_matrix([e.text for e in written_held_out])
        meta[f"{name}_held_out_learned"] = evaluate(
            text_scores(weights.coef, weights.intercept, w_vectors, w_counts),
            np.array([e.label for e in written_held_out]),
            [e.family for e in written_held_out],
            threshold,
        )
    meta["seconds"] = round(time.perf_counter() - started, 1)
    return TrainingResult(weights=weights, report=meta)


def to_json(weights: Weights) -> dict:
    words = weights.coef[EMBEDDING_DIMENSIONS : EMBEDDING_DIMENSIONS + HASHED]
    rules = weights.coef[EMBEDDING_DIMENSIONS + HASHED :]
    return {
        "format": 3,
        "digest": weights.digest,
        "intercept": round(weights.intercept, 6),
        "threshold": round(weights.threshold, 6),
        "embedding_coef": [round(float(v), 6) for v in weights.coef[:EMBEDDING_DIMENSIONS]],
        # Rounded to 4 places and zeros dropped: the character n-grams are many, the file stays small.
        "word_coef": {str(i): round(float(words[i]), 4) for i in np.flatnonzero(np.round(words, 4))},
        "rule_coef": {rule_id: round(float(v), 6) for rule_id, v in zip(RULE_IDS, rules, strict=True)},
        "meta": weights.meta,
    }
