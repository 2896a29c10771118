"""The local router on the public routing dev set: accuracy, macro-F1, confusion matrix, latency, memory.

Reads $SWITCHBOARD_SHARED_DIR/datasets/routing/routing_dev.csv (default ../shared), in this
benchmark only: it is never trained or tuned on. Skips with a message when absent.
Only the LOCAL router is measured (no LLM call).
Quality: every message through the classifier in batches (for a message with no
current route, `route_message(text, use_llm=False)` returns exactly the
classifier's answer, settled by `settle_predictions`). The router's own held-out fifth
(`apps/agents/routing/heldout.yaml`) is reported apart the same way, and so are its held-out messages in other
languages (`heldout_languages.yaml`, read through `apps.agents.understanding.language`), and its held-out
boundaries (`heldout_boundaries.yaml`: other languages, capitals and anger, tasks that name the shop).
Latency: `route_message` one message at a time,
as a turn calls it, on a fixed sample. The classifier is trained on the team's examples
only, never on this file.
"""

import csv
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import django

django.setup()

import psutil  # noqa: E402

from apps.agents.offline.learned_classifier import expected_calibration_error  # noqa: E402
from apps.agents.routes import OUT_OF_SCOPE  # noqa: E402
from apps.agents.routing import ROUTES, get_classifier, route_message  # noqa: E402
from apps.agents.routing.router import classify_texts  # noqa: E402
from apps.agents.understanding.language import read_message  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LATENCY_SAMPLE = 500


def _p(values: list[float], q: float) -> float:
    return sorted(values)[int(q * (len(values) - 1))]


def _own_heldout(name: str = "heldout.yaml", label: str = "own held-out fifth") -> None:
    """A held-out file of the router's (never trained on): accuracy per route, out_of_scope precision."""
    import yaml

    data = yaml.safe_load((ROOT / "apps/agents/routing" / name).read_text(encoding="utf-8"))["routes"]
    pairs = [(str(text), route) for route, texts in data.items() for text in texts]
    predicted = [p.route for p in classify_texts([text for text, _ in pairs])]
    if name != "heldout.yaml":
        read = sum(read_message(text).foreign for text, _ in pairs)
        label += f", {read}/{len(pairs)} read as another language"
    right = sum(p == t for p, (_, t) in zip(predicted, pairs, strict=True))
    by_route = []
    for route in ROUTES:
        mine = [p == t for p, (_, t) in zip(predicted, pairs, strict=True) if t == route]
        if mine:
            by_route.append(f"{route} {sum(mine)}/{len(mine)}")
    said_oos = [t for p, (_, t) in zip(predicted, pairs, strict=True) if p == OUT_OF_SCOPE]
    refused = sum(t != OUT_OF_SCOPE for t in said_oos)
    precision = (len(said_oos) - refused) / len(said_oos) if said_oos else 1.0
    print(
        f"{label} (apps/agents/routing/{name}): accuracy {right / len(pairs):.4f} "
        f"({right}/{len(pairs)}); "
        f"{', '.join(by_route)}; out_of_scope precision {precision:.3f}, support questions refused {refused}"
    )


def _task_heldout() -> None:
    """The task gate (`routing/tasks.py`) on its held-out messages (never trained on)."""
    import yaml

    data = yaml.safe_load((ROOT / "apps/agents/understanding/heldout/task.yaml").read_text(encoding="utf-8"))
    held = data["intents"]
    gate = get_classifier().report.task_gate
    tasks = classify_texts(held["task"])
    support = classify_texts(held["support"])
    print(
        f"task gate (threshold {gate.threshold:.3f}, out-of-fold recall {gate.oof_recall:.3f}, "
        f"{gate.oof_support_refused} of {gate.support} support examples refused): held-out tasks refused "
        f"{sum(p.route == OUT_OF_SCOPE for p in tasks)}/{len(tasks)} ({sum(p.task for p in tasks)} by the gate), "
        f"held-out support questions refused {sum(p.route == OUT_OF_SCOPE for p in support)}/{len(support)}"
    )


def main() -> None:
    shared = Path(os.environ.get("SWITCHBOARD_SHARED_DIR", ROOT.parent / "shared"))
    path = shared / "datasets" / "routing" / "routing_dev.csv"
    if not path.exists():
        print(f"skipped: {path} not found (set SWITCHBOARD_SHARED_DIR)")
        return
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [(r["text"], r["route"]) for r in csv.DictReader(handle)]

    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    classifier = get_classifier()
    route_message("warm up", use_llm=False)
    load_seconds = time.perf_counter() - started
    report = classifier.report
    print(f"dataset: {path} ({len(rows)} messages)")
    print(
        f"classifier: {report.examples} team-written examples {report.per_route}; "
        f"cold start {load_seconds:.2f} s (training took {report.seconds:.1f} s when not cached)"
    )
    print(
        f"out-of-fold on own examples: accuracy {report.oof_accuracy:.3f}, macro-F1 {report.oof_macro_f1:.3f}, "
        f"ECE {report.ece_uncalibrated:.3f} -> {report.ece_calibrated:.3f} calibrated (T={report.temperature:.2f}), "
        f"far-from-shop threshold {report.similarity_threshold:.2f}"
    )

    predictions = classify_texts([text for text, _ in rows])
    predicted = [p.route for p in predictions]
    confidences = [p.confidence for p in predictions]
    latencies = []
    for text, _ in rows[:: max(1, len(rows) // LATENCY_SAMPLE)]:
        t = time.perf_counter()
        route_message(text, use_llm=False)
        latencies.append((time.perf_counter() - t) * 1000)
    truth = [route for _, route in rows]

    correct = sum(p == t for p, t in zip(predicted, truth, strict=True))
    f1s = {}
    for route in ROUTES:
        tp = sum(p == route and t == route for p, t in zip(predicted, truth, strict=True))
        fp = sum(p == route and t != route for p, t in zip(predicted, truth, strict=True))
        fn = sum(p != route and t == route for p, t in zip(predicted, truth, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1s[route] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"accuracy {correct / len(rows):.4f}   macro-F1 {statistics.mean(f1s.values()):.4f}")
    print("per-route F1: " + "  ".join(f"{r} {f:.3f}" for r, f in f1s.items()))
    # Out of scope is a refusal: its precision is the share of refusals that were not real support questions.
    said_oos = [t for p, t in zip(predicted, truth, strict=True) if p == OUT_OF_SCOPE]
    true_oos = [p for p, t in zip(predicted, truth, strict=True) if t == OUT_OF_SCOPE]
    oos_precision = sum(t == OUT_OF_SCOPE for t in said_oos) / len(said_oos) if said_oos else 1.0
    oos_recall = sum(p == OUT_OF_SCOPE for p in true_oos) / len(true_oos) if true_oos else 1.0
    support = [(p, t) for p, t in zip(predicted, truth, strict=True) if t != OUT_OF_SCOPE]
    support_accuracy = sum(p == t for p, t in support) / len(support) if support else 1.0
    refused = sum(p == OUT_OF_SCOPE for p, _ in support)
    print(
        f"out_of_scope precision {oos_precision:.4f}  recall {oos_recall:.4f}   "
        f"real support questions: accuracy {support_accuracy:.4f}, refused as out of scope {refused}/{len(support)}"
    )

    # Calibration on this (foreign) data: how often the router is right at each confidence.
    right = [p == t for p, t in zip(predicted, truth, strict=True)]
    bins = [(0.0, 0.6), (0.6, 0.8), (0.8, 0.9), (0.9, 0.97), (0.97, 1.01)]
    parts = []
    for lo, hi in bins:
        idx = [i for i, c in enumerate(confidences) if lo <= c < hi]
        if idx:
            parts.append(f"[{lo:.2f},{min(hi, 1):.2f}) n={len(idx)} acc={sum(right[i] for i in idx) / len(idx):.2f}")
    print("confidence vs accuracy: " + "; ".join(parts))
    import numpy as np

    ece = expected_calibration_error(np.array(confidences), np.array(right))
    print(f"ECE on this data (10 bins): {ece:.3f}")
    below = sum(c < 0.6 for c in confidences)
    print(f"below the default threshold 0.6 (would ask an LLM router when one is configured): {below / len(rows):.1%}")

    width = max(len(r) for r in ROUTES) + 2
    counts = Counter(zip(truth, predicted, strict=True))
    print("confusion matrix (rows: true route, columns: predicted)")
    print(" " * width + "".join(f"{r[:8]:>9}" for r in ROUTES))
    for t in ROUTES:
        print(f"{t:<{width}}" + "".join(f"{counts[(t, p)]:>9}" for p in ROUTES))

    _own_heldout()
    _task_heldout()
    _own_heldout("heldout_languages.yaml", "other languages, never tuned on")
    _own_heldout("heldout_boundaries.yaml", "boundaries (languages, capitals and anger, tasks naming the shop)")

    p50, p95 = statistics.median(latencies), _p(latencies, 0.95)
    print(f"latency per message ({len(latencies)} single calls): p50 {p50:.2f} ms  p95 {p95:.2f} ms")
    rss = process.memory_info().rss
    print(
        f"resident memory: {rss / 2**20:.0f} MiB (process start to model loaded: +{(rss - rss_before) / 2**20:.0f} MiB)"
    )


if __name__ == "__main__":
    sys.exit(main())
