"""Questions about the customer's own items, end to end: their size, colour or variant; a refund for an item whose
return is already waiting.

Plays `bench/item_questions/<portion>.yaml` (`heldout`: written before the code, never tuned on; `tuning`: the cases
the code was read against), each case a one-turn scenario through the real turn (router, specialists, tools) on the
benchmark database seeded with the demo shop dated today, in a transaction rolled back. A case passes when the reply
contains every `contains` string (the item's variant, the waiting return's order), none of its `no_tools` ran and
nothing moved. `--failures` lists the tuning portions' wrong replies (never the held-out ones: those are measured, not
read). Reads nothing from ../shared.

    python -m config.devstack bench bench/bench_item_questions.py [--portion heldout,waiting_return_tuning] [--failures]
"""

import argparse
import os
import time
from pathlib import Path

import django
import yaml

django.setup()

from apps.evaluation.runner import prepare_demo_data, run_suite  # noqa: E402
from apps.evaluation.scenarios import parse  # noqa: E402

CASES_DIR = Path(__file__).parent / "item_questions"


def _scenarios(portion: str) -> list:
    path = CASES_DIR / f"{portion}.yaml"
    if not path.exists():
        return []
    cases = yaml.safe_load(path.read_text())["cases"]
    scenarios = []
    for index, case in enumerate(cases, start=1):
        who = {"guest": case["guest"]} if "guest" in case else {"customer": case["customer"]}
        if "turns" in case:  # a conversation, in the scenarios' own format
            data = {**who, "turns": case["turns"], "expect": case.get("expect") or {}}
        else:
            turn = {"say": case["say"], "reply_contains": case["contains"], "no_tools": case.get("no_tools") or []}
            data = {**who, "turns": [turn], "expect": {}}
        scenarios.append(parse(data, default_name=f"{portion}-{index}", portion=portion))
    return scenarios


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--portion",
        default="heldout,tuning,waiting_return_heldout,waiting_return_tuning,two_returns_heldout,two_returns_tuning",
    )
    parser.add_argument("--failures", action="store_true", help="list the tuning portion's wrong replies")
    args = parser.parse_args()
    prepare_demo_data()
    for portion in [p.strip() for p in args.portion.split(",") if p.strip()]:
        scenarios = _scenarios(portion)
        if not scenarios:
            continue
        started = time.perf_counter()
        outcomes = run_suite(scenarios)
        seconds = time.perf_counter() - started
        passed = sum(o.passed for o in outcomes)
        print(f"{portion:8} {passed}/{len(outcomes)} replies right ({seconds:.1f}s, load {os.getloadavg()[0]:.1f})")
        if args.failures and "heldout" not in portion:
            for o in outcomes:
                if not o.passed:
                    turn = o.transcript[0] if o.transcript else None
                    route, reply = (turn.route, turn.reply or "") if turn else ("-", o.error)
                    print(f"  x {o.scenario.turns[0].say}\n    < [{route}] {reply[:300]}\n    {o.failures}")


if __name__ == "__main__":
    main()
