"""Figures per portion of the suite (tuned, backlog, held-out): pass counts, rate and failures by tag."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from apps.evaluation.runner import Outcome
from apps.evaluation.scenarios import PORTIONS

# Tags every new scenario carries that say nothing about what failed.
_UNINFORMATIVE_TAGS = frozenset({"customer-first"})


@dataclass
class PortionReport:
    portion: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    @property
    def passed(self) -> int:
        return sum(1 for o in self.outcomes if o.passed)

    @property
    def rate(self) -> float:
        return 100.0 * self.passed / self.total if self.outcomes else 0.0

    @property
    def failures_by_tag(self) -> dict[str, int]:
        """Failing scenarios per tag, most frequent first (a scenario counts once under each of its tags)."""
        counts = Counter(
            tag for o in self.outcomes if not o.passed for tag in o.scenario.tags if tag not in _UNINFORMATIVE_TAGS
        )
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def line(self) -> str:
        return f"{self.portion}: {self.passed}/{self.total} passed ({self.rate:.1f}%)"


def portion_reports(outcomes: list[Outcome]) -> list[PortionReport]:
    """One report per portion that was played, in `PORTIONS` order."""
    reports = {portion: PortionReport(portion) for portion in PORTIONS}
    for outcome in outcomes:
        reports.setdefault(outcome.scenario.portion, PortionReport(outcome.scenario.portion)).outcomes.append(outcome)
    return [report for report in reports.values() if report.outcomes]
