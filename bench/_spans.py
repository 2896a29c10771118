"""Span scoring shared by the PII benchmarks (bench_guardrails, bench_pii).

A gold span is found when a predicted span of the same type overlaps it; exact-boundary recall also asks
for the same start and end. A predicted span is correct when it overlaps a gold span of its type.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Span = tuple[str, int, int]  # (type, start, end)


def overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


@dataclass
class SpanTally:
    gold: Counter[str] = field(default_factory=Counter)
    found: Counter[str] = field(default_factory=Counter)
    exact: Counter[str] = field(default_factory=Counter)
    predicted: Counter[str] = field(default_factory=Counter)
    correct: Counter[str] = field(default_factory=Counter)

    def add(self, text: str, gold: Sequence[Span], predicted: Sequence[Span]) -> list[str]:
        """Count one text; return its errors (missed, boundary, false positive) in words."""
        errors: list[str] = []
        for kind, start, end in gold:
            self.gold[kind] += 1
            hits = [(s, e) for k, s, e in predicted if k == kind and overlaps((s, e), (start, end))]
            self.found[kind] += bool(hits)
            self.exact[kind] += (start, end) in hits
            if not hits:
                errors.append(f"missed {kind}: {text[start:end]!r}")
            elif (start, end) not in hits:
                errors.append(f"boundary {kind}: {text[start:end]!r} as {[text[s:e] for s, e in hits]}")
        for kind, start, end in predicted:
            self.predicted[kind] += 1
            hit = any(k == kind and overlaps((start, end), (s, e)) for k, s, e in gold)
            self.correct[kind] += hit
            if not hit:
                errors.append(f"false positive {kind}: {text[start:end]!r} in {text[:80]!r}")
        return errors

    def line(self, kind: str) -> str:
        recall = self.found[kind] / self.gold[kind] if self.gold[kind] else 0.0
        precision = self.correct[kind] / self.predicted[kind] if self.predicted[kind] else 0.0
        exact = self.exact[kind] / self.gold[kind] if self.gold[kind] else 0.0
        return (
            f"  {kind:<14} recall {recall:.3f}  precision {precision:.3f}  exact-boundary recall {exact:.3f}  "
            f"(gold {self.gold[kind]}, predicted {self.predicted[kind]})"
        )

    def total_line(self, label: str = "all covered") -> str:
        gold, predicted = sum(self.gold.values()), sum(self.predicted.values())
        recall = sum(self.found.values()) / gold if gold else 0.0
        precision = sum(self.correct.values()) / predicted if predicted else 0.0
        return f"  {label:<14} recall {recall:.3f}  precision {precision:.3f}"


def spans(items: Iterable[object]) -> list[Span]:
    """(type, start, end) of recognised spans (anything with .type, .start and .end)."""
    return [(s.type, s.start, s.end) for s in items]  # type: ignore[attr-defined]
