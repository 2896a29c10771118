"""The scenario suite on the local model: pass rate per portion, time per scenario and per turn (p50/p95).

Plays the tuned and held-out portions (the backlog is left to `manage.py evaluate`) and stores
one run per portion.

Runs `manage.py evaluate --current-db` on the benchmark database (seeded with the
demo shop dated today) and prints the figures docs/specialists.md quotes.
"""

import statistics
import time

import django

django.setup()

from apps.evaluation.reporting import portion_reports  # noqa: E402
from apps.evaluation.runner import prepare_demo_data, run_suite, store_run  # noqa: E402
from apps.evaluation.scenarios import load_suite  # noqa: E402


def _p(values: list[float], q: float) -> float:
    return sorted(values)[int(q * (len(values) - 1))]


def main() -> None:
    from django.utils import timezone

    t = time.perf_counter()
    report = prepare_demo_data()
    print(f"demo data: seed {report['seed_seconds']}s, knowledge base {report['kb_seconds']}s")
    scenarios = load_suite(["tuned", "heldout"])
    started_at = timezone.now()
    t = time.perf_counter()
    outcomes = run_suite(scenarios, model="local")
    seconds = time.perf_counter() - t
    for report in portion_reports(outcomes):
        share = seconds * report.total / len(outcomes)
        gate = 100.0 if report.portion == "tuned" else 0.0
        store_run(
            report.outcomes, model="local", suite=report.portion, min_pass=gate, started_at=started_at, seconds=share
        )
        print(f"{report.line()}, turns: {sum(o.turns for o in report.outcomes)}")
    per_scenario = [o.duration_ms for o in outcomes]
    turns = sum(o.turns for o in outcomes)
    print(f"scenarios: {len(outcomes)}, turns: {turns}")
    print(f"suite: {seconds:.1f}s (first turn loads the router and embedding models)")
    print(
        f"per scenario: p50 {statistics.median(per_scenario):.0f} ms  p95 {_p(per_scenario, 0.95):.0f} ms  "
        f"mean per turn {1000 * seconds / max(turns, 1):.0f} ms"
    )
    for o in outcomes:
        if not o.passed and o.scenario.portion == "tuned":
            print(f"FAIL {o.scenario.name}: {'; '.join(o.failures)}")


if __name__ == "__main__":
    main()
