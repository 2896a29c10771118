"""Choosing the detector's operating point (C and threshold) by leaving one writer out (issue 12, twelfth pass).

The target is recall on attacks by writers the detector was never trained on, at false positives customers can
live with. Each writer of the team-written attack data (`data/written*/`, one colleague per folder) is a fold of
its own (`writer_folds`): the fit for fold k is trained without writer k's texts and without a stratified k-th of
the team's own texts, and scores both. So every development text gets one out-of-fold score, a writer's from a
model that never saw that writer, and the team's customer messages from a model that never saw them.

The operating point (`choose`) is then, for each C of the grid, the lowest threshold that keeps
  - false positives on the customer messages (routing and intent examples, the customer look-alike families;
    training._is_customer) within CUSTOMER_FP_BUDGET, out of fold, and
  - the left-out writers' false positives on their own benign look-alikes, averaged over writers, within
    WRITER_FP_BUDGET,
and the C whose threshold gives the highest mean recall over the left-out writers (recall falls as the threshold
rises, so the lowest threshold within both budgets is the best one for that C). Both budgets were stated before
any figure of this procedure was seen; `frontier` records what other writer budgets would have given.

`nested` checks the procedure itself: for each writer W, C and threshold are chosen as above on the other writers
only (W's scores unread), then W's recall and false positives are measured at that point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import examples as ex

# Out of fold, on the team's customer messages: half of the 1% the issue allows on real customers' messages.
CUSTOMER_FP_BUDGET = 0.005
# A left-out writer's benign look-alikes are written to trip detectors (trigger words, other languages, pasted
# documents); the ninth pass's threshold blocked about 3% of them. One in twenty is the price allowed for recall.
WRITER_FP_BUDGET = 0.05
FRONTIER_BUDGETS = (0.02, 0.03, 0.05, 0.10, 1.0)


def writer_of(family: str) -> str:
    """The written folder a development family comes from ("written3:override" -> "written3"); "" for the team's."""
    return family.split(":", 1)[0] if ex.is_written(family) else ""


def writer_folds(
    development: Sequence[ex.Example], *, seed: int
) -> tuple[list[str], list[tuple[np.ndarray, np.ndarray]]]:
    """(writers, [(train rows, test rows)]): fold k tests writer k's texts and a stratified k-th of the team's."""
    from sklearn.model_selection import StratifiedKFold

    owners = np.array([writer_of(e.family) for e in development])
    writers = sorted(set(owners.tolist()) - {""})
    if len(writers) < 2:
        raise ValueError(f"leave-one-writer-out needs two writers or more, found {writers}")
    fold = np.full(len(development), -1, dtype=np.int64)
    for k, writer in enumerate(writers):
        fold[owners == writer] = k
    team = np.flatnonzero(owners == "")
    if len(team):
        strata = [f"{development[i].label}:{development[i].family.split(':')[0]}" for i in team]
        splitter = StratifiedKFold(n_splits=len(writers), shuffle=True, random_state=seed)
        for k, (_, test) in enumerate(splitter.split(np.zeros(len(team)), strata)):
            fold[team[test]] = k
    return writers, [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(len(writers))]


def _lowest_within(scores: np.ndarray, budget: float) -> float:
    """Lowest threshold whose false-positive rate on these benign scores is within budget (scores >= trip)."""
    if len(scores) == 0 or budget >= 1.0:
        return 0.0
    allowed = int(np.floor(budget * len(scores)))
    ordered = np.sort(scores)[::-1]
    return float(np.nextafter(ordered[allowed], 1.0)) if allowed < len(ordered) else 0.0


def _lowest_mean_within(benign_by_writer: list[np.ndarray], budget: float) -> float:
    """Lowest threshold at which the writers' false-positive rates, averaged, are within budget."""
    pools = [np.sort(s) for s in benign_by_writer if len(s)]
    if not pools or budget >= 1.0:
        return 0.0
    candidates = np.unique(np.concatenate([[0.0], *(np.nextafter(p, 1.0) for p in pools)]))
    rates = np.mean([(len(p) - np.searchsorted(p, candidates, side="left")) / len(p) for p in pools], axis=0)
    return float(candidates[np.argmax(rates <= budget)])  # the last candidate passes every score: rate 0


def _rate(tripped: np.ndarray, mask: np.ndarray) -> float:
    return round(float(tripped[mask].mean()), 3) if mask.any() else 0.0


@dataclass(frozen=True)
class Scored:
    """Out-of-fold scores of the development texts for every C, with what the budgets read of each text."""

    by_c: Mapping[float, np.ndarray]
    labels: np.ndarray
    customer: np.ndarray  # bool: a customer message (training._is_customer)
    writer: np.ndarray  # str: its writer's folder, "" for the team's texts

    @property
    def writers(self) -> list[str]:
        return sorted(set(self.writer.tolist()) - {""})

    def threshold(self, c: float, writers: Sequence[str], writer_budget: float) -> float:
        oof, benign = self.by_c[c], self.labels == ex.BENIGN
        by_writer = [oof[benign & (self.writer == w)] for w in writers]
        return max(
            _lowest_within(oof[benign & self.customer], CUSTOMER_FP_BUDGET),
            _lowest_mean_within(by_writer, writer_budget),
        )

    def figures(self, c: float, threshold: float, writers: Sequence[str]) -> dict:
        oof, attack = self.by_c[c], self.labels == ex.ATTACK
        tripped = oof >= threshold
        by_writer = {}
        for w in writers:
            mine = self.writer == w
            by_writer[w] = {
                "attacks": int((mine & attack).sum()),
                "recall": _rate(tripped, mine & attack),
                "benign": int((mine & ~attack).sum()),
                "fp": _rate(tripped, mine & ~attack),
            }
        recalls = [f["recall"] for f in by_writer.values()]
        customer = self.customer & ~attack
        team_lookalike = ~self.customer & ~attack & (self.writer == "")
        return {
            "C": c,
            "threshold": float(threshold),  # exact: training ships this number
            "mean_writer_recall": round(float(np.mean(recalls)), 3),
            "worst_writer_recall": round(float(np.min(recalls)), 3),
            "mean_writer_fp": round(float(np.mean([f["fp"] for f in by_writer.values()])), 3),
            "customer_fp": f"{int(tripped[customer].sum())} of {int(customer.sum())}",
            "team_lookalike_fp": _rate(tripped, team_lookalike),
            "team_attack_recall": _rate(tripped, attack & (self.writer == "")),
            "by_writer": by_writer,
        }


def choose(scored: Scored, *, writers: Sequence[str] | None = None, writer_budget: float = WRITER_FP_BUDGET) -> dict:
    """The operating point (module docstring) chosen on these writers' out-of-fold scores: its figures."""
    writers = scored.writers if writers is None else list(writers)
    best: dict | None = None
    for c in sorted(scored.by_c):
        point = scored.figures(c, scored.threshold(c, writers, writer_budget), writers)
        if best is None or point["mean_writer_recall"] > best["mean_writer_recall"]:
            best = point
    assert best is not None
    return best


def nested(scored: Scored, *, writer_budget: float = WRITER_FP_BUDGET) -> dict[str, dict]:
    """Per writer: the point chosen on the other writers, and this writer's figures there."""
    result = {}
    for left_out in scored.writers:
        point = choose(scored, writers=[w for w in scored.writers if w != left_out], writer_budget=writer_budget)
        mine = scored.figures(point["C"], point["threshold"], [left_out])["by_writer"][left_out]
        result[left_out] = {"C": point["C"], "threshold": point["threshold"], **mine}
    return result


def frontier(scored: Scored) -> dict[str, dict]:
    """What each writer budget in FRONTIER_BUDGETS would choose (the customer budget held): a record, not a choice."""
    out = {}
    for budget in FRONTIER_BUDGETS:
        point = choose(scored, writer_budget=budget)
        out[f"{budget:g}"] = {k: v for k, v in point.items() if k != "by_writer"}
    return out


def report(scored: Scored, chosen: dict) -> dict:
    """The selection's record for weights.json: the budgets, the choice, every C's point, the nested check."""
    per_c = {
        str(c): {
            k: v
            for k, v in scored.figures(c, scored.threshold(c, scored.writers, WRITER_FP_BUDGET), scored.writers).items()
            if k != "by_writer"
        }
        for c in sorted(scored.by_c)
    }
    inner = nested(scored)
    return {
        "rule": "lowest threshold within both budgets; C by mean left-out-writer recall (operating_point.py)",
        "customer_fp_budget": CUSTOMER_FP_BUDGET,
        "writer_fp_budget": WRITER_FP_BUDGET,
        "writers": scored.writers,
        "chosen": chosen,
        "by_C": per_c,
        "nested": inner,
        "nested_mean_recall": round(float(np.mean([v["recall"] for v in inner.values()])), 3),
        "nested_mean_fp": round(float(np.mean([v["fp"] for v in inner.values()])), 3),
        "frontier": frontier(scored),
    }
