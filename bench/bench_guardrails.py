"""Guardrails benchmark: injection detection and PII masking on public data sets
nobody on the team wrote, plus latency per check.

Reads `<shared>/datasets/guardrails/injection_dev.csv` and `pii_dev.jsonl`, and the
routing set `<shared>/datasets/routing/routing_dev.csv` as real, benign support messages, with
`<shared>` = $SWITCHBOARD_SHARED_DIR or `../shared` next to the project root, and
skips with a message when they are absent. Needs Django settings only (no
database): run `python bench/bench_guardrails.py` or `make bench`.

The learned detector reads every text in several views (windows of long texts), about 20k
MiniLM embeddings for the shared sets: they are computed in batches and kept in
`var/cache/injection_detector_embeddings.npz` (`apps/guardrails/detector/cache.py`; the
embedder is fixed, only the detector's weights change between runs), so a re-run after
retraining takes a minute. The latency sample embeds live. Progress goes to stderr.
"""

from __future__ import annotations

import csv
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django  # noqa: E402

django.setup()  # the held-out split reads the routing examples through the agents app

from _spans import SpanTally, spans  # noqa: E402

from apps.guardrails import GuardrailContext, check_input, check_output  # noqa: E402
from apps.guardrails.checks import INPUT_INJECTION  # noqa: E402
from apps.guardrails.detector.cache import CACHE_PATH, EmbeddingCache, installed  # noqa: E402
from apps.guardrails.entities import PERSON, STREET_ADDRESS, find_names_addresses  # noqa: E402
from apps.guardrails.injection import score_injection  # noqa: E402
from apps.guardrails.pii import CARD, EMAIL, IBAN, PHONE, SSN, find_pii, mask_pii  # noqa: E402
from apps.guardrails.text import clean  # noqa: E402

COVERED_PII = (CARD, IBAN, EMAIL, PHONE, SSN)
OPERATOR_PII = (PERSON, STREET_ADDRESS)  # masked only in what operators read (redact_for_operators)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


_CACHE: EmbeddingCache | None = None


def shared_dir() -> Path:
    return Path(os.environ.get("SWITCHBOARD_SHARED_DIR", ROOT.parent / "shared"))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _injection_decisions(texts: list[str]) -> list[bool]:
    """What `input.injection` decides for each text: the rules, or the learned probability at its
    calibrated threshold (the same rule as apps/guardrails/detection.py), with the learned
    detector batched (64 texts per embedding call) so the whole set runs in minutes."""
    from django.conf import settings

    cleaned = [clean(t).text for t in texts]
    rules = [_rules_trip(t) for t in texts]
    if settings.GUARDRAILS_INJECTION_DETECTOR != "learned":
        return rules
    from apps.guardrails.detector import get_weights, scores

    threshold = get_weights().threshold
    return [hit or p >= threshold for hit, p in zip(rules, scores(cleaned), strict=True)]


LATENCY_SAMPLE = 60  # texts run through check_input/check_output one by one, for the latency figures


def bench_injection(path: Path, latencies: dict[str, list[float]]) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    context = GuardrailContext()
    if _CACHE is not None:
        _CACHE.bypass = True
    for row in rows[:: max(1, len(rows) // LATENCY_SAMPLE)]:
        for verdict in check_input(row["text"], context=context).verdicts:
            latencies[verdict.name].append(verdict.latency_ms)
        for verdict in check_output(row["text"], context=context).verdicts:  # texts stand in for replies
            latencies[verdict.name].append(verdict.latency_ms)
    if _CACHE is not None:
        _CACHE.bypass = False
    progress("latency sample done; whole set batched")
    decisions = _injection_decisions([row["text"] for row in rows])
    by_source: dict[str, Counter[str]] = defaultdict(Counter)
    total: Counter[str] = Counter()
    rules_hits: Counter[str] = Counter()  # texts the rule scorer alone trips on, by source
    for row, predicted in zip(rows, decisions, strict=True):
        actual = row["label"] == "attack"
        rules_hits[row["source"]] += _rules_trip(row["text"])
        key = {(True, True): "tp", (True, False): "fp", (False, True): "fn", (False, False): "tn"}[(predicted, actual)]
        by_source[row["source"]][key] += 1
        total[key] += 1
    lines = [f"injection ({len(rows)} texts, {path.name})"]
    p, r, f1 = prf(total["tp"], total["fp"], total["fn"])
    benign = total["fp"] + total["tn"]
    lines.append(
        f"  all        precision {p:.3f}  recall {r:.3f}  F1 {f1:.3f}  "
        f"false-positive rate {total['fp'] / benign if benign else 0:.3f}  "
        f"(tp {total['tp']} fp {total['fp']} fn {total['fn']} tn {total['tn']})"
    )
    for source, counts in sorted(by_source.items()):
        p, r, f1 = prf(counts["tp"], counts["fp"], counts["fn"])
        negatives = counts["fp"] + counts["tn"]
        fpr = counts["fp"] / negatives if negatives else 0.0
        if counts["tp"] + counts["fn"]:
            lines.append(
                f"  {source:<10} precision {p:.3f}  recall {r:.3f}  F1 {f1:.3f}  false-positive rate {fpr:.3f}  "
                f"(tp {counts['tp']} fp {counts['fp']} fn {counts['fn']} tn {counts['tn']})"
            )
        else:  # benign only (NotInject): the false-positive rate is the figure
            lines.append(f"  {source:<10} benign only: false-positive rate {fpr:.3f}  ({counts['fp']} of {negatives})")
    lines.append("  rules alone (for comparison; texts the pattern scorer trips on):")
    for source, counts in sorted(by_source.items()):
        n = sum(counts.values())
        lines.append(f"    {source:<10} tripped {rules_hits[source]} of {n}")
    return lines


def _rules_trip(text: str) -> bool:
    from django.conf import settings

    cleaned = clean(text)
    return (
        score_injection(cleaned.text, hidden_text=cleaned.hidden_text).score >= settings.GUARDRAILS_INJECTION_THRESHOLD
    )


def bench_held_out() -> list[str]:
    """The team's own held-out 25% (apps/guardrails/detector/data, never used to fit or calibrate),
    through check_input: the detector as it runs, rules included. Needs no shared data."""
    from apps.guardrails.detector.examples import ATTACK, all_examples, split
    from apps.guardrails.detector.training import CUSTOMER_FAMILIES

    _, held_out = split(all_examples())
    tripped: Counter[str] = Counter()
    count: Counter[str] = Counter()
    for example in held_out:
        group = (
            "attack"
            if example.label == ATTACK
            else "customer"
            if example.family.startswith("routing:") or example.family in CUSTOMER_FAMILIES
            else "look-alike"
        )
        count[group] += 1
        count[f"{group}:{example.family}"] += 1
        hit = check_input(example.text).verdict(INPUT_INJECTION).tripped
        tripped[group] += hit
        tripped[f"{group}:{example.family}"] += hit
    lines = [f"injection, team held-out split ({len(held_out)} texts; rules + learned, as check_input runs)"]
    lines.append(
        f"  attacks recall {tripped['attack'] / count['attack']:.3f}  ({tripped['attack']} of {count['attack']})"
    )
    for group in ("customer", "look-alike"):
        lines.append(
            f"  {group} benign false-positive rate {tripped[group] / count[group]:.4f}  "
            f"({tripped[group]} of {count[group]})"
        )
    families = sorted(k for k in count if k.startswith("attack:"))
    lines.append("  recall by attack family: " + ", ".join(f"{k[7:]} {tripped[k] / count[k]:.2f}" for k in families))
    return lines


def bench_written_held_out() -> list[str]:
    """Each written folder's held-out files (apps/guardrails/detector/data/written*/*_heldout.txt: written
    by colleagues who never read the rules, never trained or tuned on), through check_input as it runs,
    recall by attack family. Needs no shared data."""
    from apps.guardrails.detector.examples import ATTACK, written_held_out_sets

    sets = written_held_out_sets()
    if not sets:
        return ["injection, written held-out: skipped, no data/written*/*_heldout.txt"]
    lines: list[str] = []
    for name, examples in sets.items():
        tripped: Counter[str] = Counter()
        count: Counter[str] = Counter()
        for example in examples:
            group = "attack" if example.label == ATTACK else "benign"
            hit = check_input(example.text).verdict(INPUT_INJECTION).tripped
            for key in (group, f"{group}:{example.family}"):
                count[key] += 1
                tripped[key] += hit
        lines.append(f"injection, {name} held-out ({len(examples)} texts; rules + learned, as check_input runs)")
        if count["attack"]:
            recall = tripped["attack"] / count["attack"]
            lines.append(f"  attacks recall {recall:.3f}  ({tripped['attack']} of {count['attack']})")
        if count["benign"]:
            lines.append(
                f"  benign false-positive rate {tripped['benign'] / count['benign']:.4f}  "
                f"({tripped['benign']} of {count['benign']})"
            )
        families = sorted(k for k in count if k.startswith("attack:"))
        lines.append(
            "  recall by attack family: "
            + ", ".join(f"{k[7:]} {tripped[k] / count[k]:.2f} ({tripped[k]}/{count[k]})" for k in families)
        )
    return lines


def bench_long_messages(samples: int = 8) -> list[str]:
    """CPU time of the injection check (rules + learned detector, embedder warm, no caches) on
    4,000-character messages made of the team's routing examples joined at random. Needs no shared data."""
    import random

    from django.conf import settings

    from apps.guardrails.detector import model
    from apps.guardrails.detector.examples import routing_examples

    if settings.GUARDRAILS_INJECTION_DETECTOR != "learned":
        return ["long messages: skipped, the learned detector is off"]
    pool = [e.text for e in routing_examples()]
    rng = random.Random(12)
    texts = []
    for _ in range(samples):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < 4000:
            parts.append(rng.choice(pool))
        texts.append(" ".join(parts)[:4000])
    if _CACHE is not None:
        _CACHE.bypass = True
    check_input("warm the embedder up", context=GuardrailContext())
    whole: list[float] = []
    injection: list[float] = []
    for text in texts:
        model.learned_score.cache_clear()
        started = time.process_time()
        check_input(text, context=GuardrailContext())
        whole.append((time.process_time() - started) * 1000)
        model.learned_score.cache_clear()
        cleaned = clean(text)
        started = time.process_time()
        score_injection(cleaned.text, hidden_text=cleaned.hidden_text)
        model.learned_score(cleaned.text, hidden_text=cleaned.hidden_text)
        injection.append((time.process_time() - started) * 1000)
    if _CACHE is not None:
        _CACHE.bypass = False
    return [
        f"long messages ({samples} of 4,000 characters, CPU ms, embedder warm, load average {os.getloadavg()[0]:.1f}):",
        f"  injection check (rules + learned) p50 {percentile(injection, 50):.0f}  max {max(injection):.0f}",
        f"  whole check_input (unicode, size, injection, PII) p50 {percentile(whole, 50):.0f}  max {max(whole):.0f}",
    ]


def bench_short_messages(samples: int = 200) -> list[str]:
    """CPU time the learned detector adds to a typical customer message (issue 14): the team's routing examples
    one by one, its per-text cache cleared, (a) with the message's embedding already computed this turn (the
    turn's prefetch embeds it once for every reader; here the embedder's memory of recent texts stands in) and
    (b) embedding it itself. Needs no shared data."""
    import random

    from django.conf import settings

    from apps.agents.offline import embedder
    from apps.agents.offline.embedder import embed
    from apps.guardrails.conf import current
    from apps.guardrails.detection import injection_embedding_texts
    from apps.guardrails.detector import model
    from apps.guardrails.detector.examples import routing_examples

    if settings.GUARDRAILS_INJECTION_DETECTOR != "learned":
        return ["short messages: skipped, the learned detector is off"]
    texts = [e.text for e in random.Random(14).sample(routing_examples(), samples)]
    if _CACHE is not None:
        _CACHE.bypass = True
    model.learned_score("warm the embedder up")
    timings: dict[str, list[float]] = {"prefetched": [], "own embedding": []}
    for index, text in enumerate(texts):
        cleaned = clean(text)
        prefetched = index % 2 == 0
        if prefetched:
            embed(injection_embedding_texts(text, cfg=current()))
        else:  # the embedder remembers recent texts (the held-out blocks above read many of these)
            with embedder._recent_lock:
                embedder._recent.clear()
        model.learned_score.cache_clear()
        started = time.process_time()
        model.learned_score(cleaned.text, hidden_text=cleaned.hidden_text)
        timings["prefetched" if prefetched else "own embedding"].append((time.process_time() - started) * 1000)
    if _CACHE is not None:
        _CACHE.bypass = False
    return [
        f"short messages ({samples} routing examples, learned detector alone, CPU ms, "
        f"load average {os.getloadavg()[0]:.1f}):",
        *(
            f"  {name:<14} p50 {percentile(values, 50):.1f}  p95 {percentile(values, 95):.1f}  (n {len(values)})"
            for name, values in timings.items()
        ),
    ]


def bench_support_messages(path: Path, latencies: dict[str, list[float]]) -> list[str]:
    """Real customer-support messages (the routing set) are all benign: the
    injection check's false-positive rate where it matters most."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    context = GuardrailContext()
    texts = [row["text"] for row in rows]
    tripped = sum(_injection_decisions(texts))
    masked: Counter[str] = Counter()
    for text in texts:
        _, spans = mask_pii(clean(text).text, context=context)
        masked.update(span.type for span in spans)
    return [
        f"support messages ({len(rows)} texts, {path.name}, all benign)",
        f"  injection false-positive rate {tripped / len(rows):.4f}  ({tripped} of {len(rows)})",
        "  pii masked: " + (", ".join(f"{t} {n}" for t, n in masked.most_common()) or "nothing"),
    ]


def bench_pii(path: Path, latencies: dict[str, list[float]]) -> list[str]:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    context = GuardrailContext()
    scored = COVERED_PII + OPERATOR_PII
    tally = SpanTally()
    uncovered: Counter[str] = Counter()
    for record in records:
        text = record["text"]
        predicted = [s for s in find_pii(text, context=context) if s.type in COVERED_PII]
        predicted += find_names_addresses(text, context=context)
        gold = [(g["type"], g["start"], g["end"]) for g in record["spans"] if g["type"] in scored]
        uncovered.update(g["type"] for g in record["spans"] if g["type"] not in scored)
        tally.add(text, gold, spans(predicted))
    lines = [f"pii ({len(records)} texts, {path.name}; a span counts when it overlaps a gold span of the same type)"]
    for pii_type in scored:
        if pii_type == PERSON:
            lines.append("  operator views only (redact_for_operators; the model still sees these):")
        lines.append(tally.line(pii_type))
    lines.append(tally.total_line())
    lines.append("  not masked by design: " + ", ".join(f"{t} {n}" for t, n in uncovered.most_common()))
    return lines


def main() -> int:
    base = shared_dir() / "datasets" / "guardrails"
    injection_path, pii_path = base / "injection_dev.csv", base / "pii_dev.jsonl"
    if not injection_path.is_file() and not pii_path.is_file():
        with installed():
            print("\n".join(bench_held_out()))
            print("\n".join(bench_written_held_out()))
            print("\n".join(bench_long_messages()))
            print("\n".join(bench_short_messages()))
        print(f"skipped: no guardrail data sets under {base} (set SWITCHBOARD_SHARED_DIR)")
        return 0
    latencies: dict[str, list[float]] = defaultdict(list)
    from django.conf import settings

    if settings.GUARDRAILS_INJECTION_DETECTOR != "learned":
        _run(injection_path, pii_path, latencies)
        return 0
    global _CACHE
    with installed() as _CACHE:
        progress(f"embedding cache {CACHE_PATH} ({len(_CACHE.vectors)} vectors)")
        _run(injection_path, pii_path, latencies)
    return 0


def _run(injection_path: Path, pii_path: Path, latencies: dict[str, list[float]]) -> None:
    progress("team held-out split")
    print("\n".join(bench_held_out()))
    progress("written held-out set")
    print("\n".join(bench_written_held_out()))
    print("\n".join(bench_long_messages()))
    print("\n".join(bench_short_messages()))
    if injection_path.is_file():
        progress("injection set")
        print("\n".join(bench_injection(injection_path, latencies)))
    else:
        print(f"injection: skipped, {injection_path} absent")
    routing_path = shared_dir() / "datasets" / "routing" / "routing_dev.csv"
    if routing_path.is_file():
        progress("support messages")
        print("\n".join(bench_support_messages(routing_path, latencies)))
    else:
        print(f"support messages: skipped, {routing_path} absent")
    if pii_path.is_file():
        progress("pii")
        print("\n".join(bench_pii(pii_path, latencies)))
    else:
        print(f"pii: skipped, {pii_path} absent")
    print("latency per check, ms")
    for name, values in sorted(latencies.items()):
        print(
            f"  {name:<26} p50 {percentile(values, 50):.3f}  p95 {percentile(values, 95):.3f}  "
            f"max {max(values):.3f}  mean {statistics.fmean(values):.3f}  (n {len(values)})"
        )


if __name__ == "__main__":
    raise SystemExit(main())
