"""Order-reference cases on the specialists' real decision: accuracy per portion and per expected kind.

Plays `apps/agents/understanding/reference_cases/{tuning,heldout,tuning2,heldout2}.yaml`
(`apps.evaluation.reference_cases`): each case's demo customer, their real orders listed by the specialist's own
tool on the benchmark database (seeded with the demo shop dated today), and `understanding.choice.choose_order` with
that action's tiers. Printed per portion: accuracy, the share answered with the right kind (one / ask / none), and the
same per expected kind; `--by action` or `--by tags` adds that breakdown. `--failures` lists the tuning portions'
wrong cases (never the held-out ones: those are measured, not read). Reads nothing from ../shared.

    python -m config.devstack bench bench/bench_references.py [--portion tuning] [--by action] [--failures]
"""

import argparse
import time
from pathlib import Path

import django

django.setup()

from apps.evaluation.reference_cases import (  # noqa: E402
    CASES_DIR,
    PORTIONS,
    TUNING_PORTIONS,
    load_cases,
    report_lines,
    run_cases,
    tallies,
)
from apps.evaluation.runner import DEMO_CUSTOMERS, DEMO_ORDERS  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--portion", default=",".join(PORTIONS), help="tuning, heldout, tuning2, heldout2 (comma-sep.)")
    parser.add_argument("--by", choices=("action", "tags"), default=None)
    parser.add_argument("--cases", type=Path, default=CASES_DIR, help="the folder of tuning.yaml / heldout.yaml")
    parser.add_argument("--failures", action="store_true", help="list the tuning portion's wrong cases")
    args = parser.parse_args()

    from django.utils import timezone

    from apps.commerce.demo.seed import seed_demo

    seed_demo(base_date=timezone.localdate(), customers=DEMO_CUSTOMERS, orders=DEMO_ORDERS)
    portions = [p.strip() for p in args.portion.split(",") if p.strip()]
    cases = load_cases(portions, directory=args.cases)
    if not cases:
        print("no reference cases found (apps/agents/understanding/reference_cases/{tuning,heldout}.yaml)")
        return
    started = time.perf_counter()
    results = run_cases(cases)
    seconds = time.perf_counter() - started
    for line in report_lines(results):
        print(line)
    if args.by:
        for key, tally in sorted(tallies(results, by=args.by).items()):
            if " " in key:
                print(tally.line(key))
    print(f"{len(results)} cases in {seconds:.1f}s ({1000 * seconds / len(results):.1f} ms per case)")
    if args.failures:
        for result in results:
            if result.case.portion in TUNING_PORTIONS and not result.right:
                print("WRONG", result.line())


if __name__ == "__main__":
    main()
