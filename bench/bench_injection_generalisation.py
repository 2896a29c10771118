"""Injection detector: recall on a writer it was never trained on (leave one written set out).

Every written folder (`apps/guardrails/detector/data/written*/`, one per colleague who wrote attacks and
look-alikes without reading the detector) is left out in turn: the detector is fitted and calibrated exactly
as `manage.py train_injection_detector` does (`training.fit_and_calibrate`: the team's development split and
every other writer's train files, C and threshold chosen by leaving each of the other writers out,
operating_point.py), then scored on all of the left-out writer's lines, train and held-out files alike.
Printed per writer: attack recall and the false-positive rate on that writer's benign lines, as
`input.injection` decides (rules, or the learned probability at its threshold), the learned detector alone,
and the learned detector's recall at 2% and 5% false positives on the left-out benign lines (a threshold no
training run could choose; it compares designs without the calibration's noise); then the mean over writers.

This is the figure "data the detector was not tuned on" means for the team: the held-out files
of a writer whose train files were learned from share that writer's habits. Needs no shared
data and no database. Embeddings are cached in var/cache (detector/cache.py); with a warm cache
one writer left out costs one fit per other writer and C, then the final fit: tens of minutes on the
shared host (the load average is printed). `--c 64` fixes C (the grid's usual choice) for
quicker comparisons; by default the training grid is searched as training does.

    .venv/bin/python bench/bench_injection_generalisation.py [--c 64] [--only written3]

`--weights path/to/weights.json` instead scores trained weights (and the reference.npz beside them) on every
line of each written folder, e.g. the shipped detector on a new writer's folder before any training on it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django  # noqa: E402

django.setup()  # the examples read the routing examples through the agents app

import numpy as np  # noqa: E402

from apps.guardrails.detector import examples as ex  # noqa: E402
from apps.guardrails.detector.cache import installed  # noqa: E402
from apps.guardrails.detector.training import (  # noqa: E402
    C_GRID,
    CUSTOMER_FP_BUDGET,
    Features,
    ViewMatrix,
    _is_customer,
    _threshold_for,
    fit_and_calibrate,
)

FIXED_FP = (0.02, 0.05)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}  (load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)


def rules_trip(texts: list[str]) -> np.ndarray:
    from django.conf import settings

    from apps.guardrails.injection import score_injection
    from apps.guardrails.text import clean

    threshold = settings.GUARDRAILS_INJECTION_THRESHOLD
    out = []
    for text in texts:
        cleaned = clean(text)
        out.append(score_injection(cleaned.text, hidden_text=cleaned.hidden_text).score >= threshold)
    return np.array(out, dtype=bool)


def recall_at_fp(scores: np.ndarray, attacks: np.ndarray, fp: float) -> float:
    benign = np.sort(scores[~attacks])[::-1]
    if not len(benign):
        return float("nan")
    allowed = int(np.floor(fp * len(benign)))
    threshold = np.nextafter(benign[allowed], 1.0) if allowed < len(benign) else 0.0
    return float((scores[attacks] >= threshold).mean())


def left_out_examples(folder: Path) -> list[ex.Example]:
    return ex.written_examples("train", folder) + ex.written_examples("heldout", folder)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--c", type=float, action="append", help="C to try (repeatable); default the training grid")
    parser.add_argument("--only", action="append", help="left-out folder name(s); default every written folder")
    parser.add_argument("--weights", type=Path, help="score these trained weights instead of leaving sets out")
    parser.add_argument("--dump", type=Path, help="append every scored line (writer, file, family, scores) as JSON")
    args = parser.parse_args()
    if args.weights:
        return score_weights(args.weights, [d for d in ex.written_dirs() if not args.only or d.name in args.only])
    c_grid = tuple(args.c) if args.c else C_GRID
    folders = [d for d in ex.written_dirs() if not args.only or d.name in args.only]
    started = time.perf_counter()
    loads = [os.getloadavg()[0]]
    progress(f"C grid {c_grid}, one fold per other writer")

    development, _ = ex.split(ex.all_examples())
    with installed():
        progress(f"features of {len(development)} development texts")
        features = Features.of([e.text for e in development])
        for folder in folders:
            name = folder.name
            left_out = left_out_examples(folder)
            texts = {e.text for e in left_out}
            keep = np.array(
                [
                    i
                    for i, e in enumerate(development)
                    if e.family.split(":")[0] != name and e.text not in texts  # that writer's lines, wherever
                ]
            )
            kept = [development[i] for i in keep]
            progress(f"{name}: fitting on {len(kept)} texts, scoring its {len(left_out)} lines")
            fitted = fit_and_calibrate(kept, features.rows(keep), c_grid=c_grid)
            eval_texts = [e.text for e in left_out]
            learned = fitted.scores(ViewMatrix.of(eval_texts))
            attacks = np.array([e.label == ex.ATTACK for e in left_out])
            served = rules_trip(eval_texts) | (learned >= fitted.threshold)
            alone = learned >= fitted.threshold
            fixed = "  ".join(f"at {fp:.0%} FP {recall_at_fp(learned, attacks, fp):.3f}" for fp in FIXED_FP)
            row = (
                f"{name:<10} attacks {attacks.sum():>4} benign {(~attacks).sum():>4}  "
                f"recall {served[attacks].mean():.3f}  FP {served[~attacks].mean():.3f} ({served[~attacks].sum()})  "
                f"| learned alone {alone[attacks].mean():.3f} / {alone[~attacks].mean():.3f}  {fixed}  "
                f"| C {fitted.c:g} threshold {fitted.threshold:.3f}"
            )
            # The same fit with the threshold set by the customer budget alone (no look-alike or written budget).
            y = np.array([e.label for e in kept])
            customer = np.array([_is_customer(e.family) for e in kept])
            loose = _threshold_for(fitted.oof[(y == ex.BENIGN) & customer], CUSTOMER_FP_BUDGET)
            loose_served = rules_trip(eval_texts) | (learned >= loose)
            by_family = defaultdict(list)
            for e, hit in zip(left_out, served, strict=True):
                if e.label == ex.ATTACK:
                    by_family[e.family].append(hit)
            row += (
                f"\n           customer budget alone: threshold {loose:.3f} recall {loose_served[attacks].mean():.3f}"
                f"  FP {loose_served[~attacks].mean():.3f}\n           by family: "
                + ", ".join(f"{f} {np.mean(h):.2f} ({len(h)})" for f, h in sorted(by_family.items()))
            )
            results.append(
                (
                    served[attacks].mean(),
                    served[~attacks].mean(),
                    *(recall_at_fp(learned, attacks, fp) for fp in FIXED_FP),
                )
            )
            loads.append(os.getloadavg()[0])
            print(row, flush=True)
            if args.dump:
                stems = ["train"] * len(ex.written_examples("train", folder))
                dump(args.dump, name, left_out, stems, learned, served, fitted.threshold)
    means = np.mean(np.array(results), axis=0)
    print(
        f"mean over {len(results)} left-out writers: recall {means[0]:.3f}  FP {means[1]:.3f}  "
        + "  ".join(f"at {fp:.0%} FP {m:.3f}" for fp, m in zip(FIXED_FP, means[2:], strict=True))
    )
    print(f"{time.perf_counter() - started:.0f} s wall, load average {min(loads):.1f}-{max(loads):.1f}")
    return 0


results: list[tuple[float, ...]] = []


def dump(path: Path, writer: str, lines: list[ex.Example], stems: list[str], learned, served, threshold: float):
    """Append each scored line for error analysis (by family, by language); `stems` says which lines came from the
    train file (the rest are held-out lines: read their figures, not their text)."""
    import json

    stems = stems + ["heldout"] * (len(lines) - len(stems))
    with path.open("a", encoding="utf-8") as out:
        for e, stem, p, hit in zip(lines, stems, learned, served, strict=True):
            row = {"writer": writer, "file": stem, "label": e.label, "family": e.family, "learned": round(float(p), 4)}
            row |= {"threshold": round(threshold, 4), "served": bool(hit), "text": e.text}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def score_weights(path: Path, folders: list[Path]) -> int:
    """Trained weights on all of each folder's lines, as `input.injection` decides (rules or learned)."""
    from apps.guardrails.detector.model import load_weights, score_groups
    from apps.guardrails.detector.neighbours import REFERENCE_PATH

    weights = load_weights(path, path.parent / REFERENCE_PATH.name)
    trained_on = sorted(k.removesuffix("_held_out_learned") for k in weights.meta if k.endswith("_held_out_learned"))
    progress(f"weights {path} (threshold {weights.threshold:.3f}; held-out sets it reported: {trained_on})")
    with installed():
        for folder in folders:
            for stem in ("train", "heldout", "all"):
                lines = left_out_examples(folder) if stem == "all" else ex.written_examples(stem, folder)
                if not lines:
                    continue
                texts = [e.text for e in lines]
                learned = score_groups([[t] for t in texts], weights)
                attacks = np.array([e.label == ex.ATTACK for e in lines])
                served = rules_trip(texts) | (learned >= weights.threshold)
                print(
                    f"{folder.name:<10} {stem:<8} attacks {attacks.sum():>4} benign {(~attacks).sum():>4}  "
                    f"recall {served[attacks].mean():.3f}  FP {served[~attacks].mean():.3f} ({served[~attacks].sum()})",
                    flush=True,
                )
    print(f"load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
