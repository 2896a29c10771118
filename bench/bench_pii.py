"""PII masking benchmark for what operators read: names, street addresses and phone numbers by type.

- the team's labelled examples (`apps/guardrails/entity_examples/`, dev and held-out, by type; lines
  without personal data count every masked span as a false positive);
- real customer messages (`<shared>/datasets/routing/routing_dev.csv`, none of which carries a real
  name or address): how many are masked, by type, and the masked words most often hit;
- the shared PII set (`<shared>/datasets/guardrails/pii_dev.jsonl`), by type, when present;
- CPU time per message and the resident memory after the name model has loaded.

`<shared>` = $SWITCHBOARD_SHARED_DIR or `../shared` next to the project root. The shared sets are
read for the figures only: nothing is tuned on them. Run
`.venv/bin/python -m config.devstack bench bench/bench_pii.py` (needs Django settings, no database).
"""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

import django  # noqa: E402

django.setup()

from _spans import SpanTally, spans  # noqa: E402

from apps.guardrails import GuardrailContext  # noqa: E402
from apps.guardrails.entities import PERSON, STREET_ADDRESS, find_names_addresses, redact_for_operators  # noqa: E402
from apps.guardrails.pii import PHONE, PiiSpan, find_pii  # noqa: E402

EXAMPLES = ROOT / "apps" / "guardrails" / "entity_examples"
TYPES = (PERSON, STREET_ADDRESS, PHONE)
_MARK = re.compile(r"\[\[(?P<kind>[PAT]):(?P<value>.+?)\]\]", re.DOTALL)
_KINDS = {"P": PERSON, "A": STREET_ADDRESS, "T": PHONE}


@dataclass(frozen=True)
class Example:
    text: str
    gold: tuple[tuple[str, int, int], ...]  # (type, start, end)


def parse_line(line: str) -> Example:
    """`[[P:Maria Lopez]]` marks a person, `[[A:...]]` an address, `[[T:...]]` a phone; `\\n` is a line break."""
    line = line.replace("\\n", "\n")
    text: list[str] = []
    gold: list[tuple[str, int, int]] = []
    cursor = 0
    length = 0
    for match in _MARK.finditer(line):
        before = line[cursor : match.start()]
        text.append(before)
        length += len(before)
        value = match.group("value")
        gold.append((_KINDS[match.group("kind")], length, length + len(value)))
        text.append(value)
        length += len(value)
        cursor = match.end()
    text.append(line[cursor:])
    return Example("".join(text), tuple(gold))


def load_examples(name: str) -> list[Example]:
    lines = (EXAMPLES / name).read_text(encoding="utf-8").splitlines()
    return [parse_line(line) for line in lines if line.strip() and not line.startswith("#")]


def shared_dir() -> Path:
    return Path(os.environ.get("SWITCHBOARD_SHARED_DIR", ROOT.parent / "shared"))


def predict(text: str) -> list[PiiSpan]:
    context = GuardrailContext()
    spans = find_names_addresses(text, context=context)
    for span in find_pii(text, context=context):
        if span.type == PHONE and all(span.end <= o.start or span.start >= o.end for o in spans):
            spans.append(span)
    return spans


def score(examples: list[Example], types: tuple[str, ...] = TYPES) -> tuple[list[str], list[str]]:
    """Lines by type (recall, precision, exact-boundary recall) and the errors (missed, boundary, false positive)."""
    tally = SpanTally()
    clean_lines = clean_hit = 0
    errors: list[str] = []
    for example in examples:
        predicted = [span for span in spans(predict(example.text)) if span[0] in types]
        errors += tally.add(example.text, [g for g in example.gold if g[0] in types], predicted)
        if not example.gold:
            clean_lines += 1
            clean_hit += bool(predicted)
    lines = [tally.line(kind) for kind in types]
    if clean_lines:
        lines.append(f"  messages with none of these types masked: {clean_hit} of {clean_lines}")
    return lines, errors


def bench_own() -> list[str]:
    lines: list[str] = []
    for name in ("dev.txt", "heldout.txt"):
        examples = load_examples(name)
        figures, errors = score(examples)
        lines.append(f"team examples {name} ({len(examples)} messages)")
        lines.extend(figures)
        if name == "dev.txt":  # the held-out set's texts are not shown
            lines.extend(f"    {error}" for error in errors)
    return lines


def bench_support_messages() -> list[str]:
    path = shared_dir() / "datasets" / "routing" / "routing_dev.csv"
    if not path.is_file():
        return [f"support messages: skipped, {path} absent"]
    with path.open(newline="", encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    masked_by_type: Counter[str] = Counter()
    words: Counter[str] = Counter()
    messages = 0
    timings: list[float] = []
    for text in texts:
        started = time.process_time()
        spans = [s for s in predict(text) if s.type in TYPES]
        timings.append((time.process_time() - started) * 1000)
        messages += bool(spans)
        for span in spans:
            masked_by_type[span.type] += 1
            words[f"{span.type}:{text[span.start : span.end]}"] += 1
    timings.sort()
    return [
        f"support messages ({len(texts)} real customer messages, {path.name}; every span masked is a false positive)",
        f"  messages with a name, address or phone masked: {messages} ({messages / len(texts):.4f})",
        "  spans by type: " + (", ".join(f"{t} {n}" for t, n in masked_by_type.most_common()) or "none"),
        "  most often: " + ", ".join(f"{w!r} {n}" for w, n in words.most_common(15)),
        f"  CPU ms per message (names, addresses, phones): p50 {timings[len(timings) // 2]:.2f}  "
        f"p95 {timings[int(len(timings) * 0.95)]:.2f}  (load average {os.getloadavg()[0]:.1f})",
    ]


def bench_shared_pii() -> list[str]:
    path = shared_dir() / "datasets" / "guardrails" / "pii_dev.jsonl"
    if not path.is_file():
        return [f"shared pii: skipped, {path} absent"]
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    examples = [
        Example(r["text"], tuple((g["type"], g["start"], g["end"]) for g in r["spans"] if g["type"] in TYPES))
        for r in records
    ]
    figures, _ = score(examples)
    return [f"shared pii set ({len(records)} texts, {path.name}; figures only, never tuned on)", *figures]


def main() -> int:
    started = time.perf_counter()
    redact_for_operators("Warm up: this is Maria Lopez at 12 Elm Street.")
    warm = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load: first call {warm:.2f} s, peak RSS {rss:.0f} MiB (load average {os.getloadavg()[0]:.1f})")
    print("\n".join(bench_own()))
    print("\n".join(bench_shared_pii()))
    print("\n".join(bench_support_messages()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
