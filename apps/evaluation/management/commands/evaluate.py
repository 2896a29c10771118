"""`manage.py evaluate [--model local] [--scenario NAME] [--json] [--min-pass 100]`: play the scenario suite."""

from __future__ import annotations

import json
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection
from django.utils import timezone

from apps.evaluation.runner import Outcome, outcome_row, prepare_demo_data, run_suite, store_run
from apps.evaluation.scenarios import ScenarioError, load_scenarios


class Command(BaseCommand):
    help = (
        "Play the scenario suite against the configured model on a fresh copy of the demo data, score it on "
        "routes, tool calls, replies and database state, print a table and store the run. Exits 1 below --min-pass."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", default="local", help="agent model for router and specialists (default local)")
        parser.add_argument("--scenario", default="", help="only scenarios whose name or tag contains this (a,b,...)")
        parser.add_argument("--json", action="store_true", help="print one JSON document instead of the table")
        parser.add_argument("--min-pass", type=float, default=None, help="percent (default EVALUATION_MIN_PASS)")
        parser.add_argument(
            "--current-db",
            action="store_true",
            help="play on the configured database (seeding the demo if needed) instead of a throwaway copy",
        )
        parser.add_argument("--verbose-failures", action="store_true", help="print the transcript of failures")

    def handle(self, *args: Any, **options: Any) -> None:
        min_pass = options["min_pass"] if options["min_pass"] is not None else settings.EVALUATION_MIN_PASS
        try:
            scenarios = load_scenarios(only=options["scenario"])
        except ScenarioError as exc:
            raise CommandError(str(exc)) from exc
        if not scenarios:
            raise CommandError(f"no scenario matches {options['scenario']!r}")
        started_at = timezone.now()
        t0 = time.perf_counter()
        as_json = options["json"]

        def progress(outcome: Outcome) -> None:
            if not as_json:
                self.stderr.write(f"  {'pass' if outcome.passed else 'FAIL'}  {outcome.scenario.name}")

        if options["current_db"]:
            prepare_demo_data()
            outcomes = run_suite(scenarios, model=options["model"], progress=progress)
        else:
            outcomes = self._in_throwaway_db(scenarios, options["model"], progress)
        seconds = time.perf_counter() - t0

        passed = sum(1 for o in outcomes if o.passed)
        rate = 100.0 * passed / len(outcomes)
        run_id = None
        try:
            run_id = store_run(
                outcomes,
                model=options["model"],
                suite=options["scenario"],
                min_pass=min_pass,
                started_at=started_at,
                seconds=seconds,
            ).pk
        except DatabaseError as exc:
            self.stderr.write(f"warning: the run was not stored ({exc.__class__.__name__}: {exc})")

        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "run": run_id,
                        "model": options["model"],
                        "scenarios": len(outcomes),
                        "passed": passed,
                        "pass_rate": round(rate, 2),
                        "seconds": round(seconds, 2),
                        "results": [outcome_row(o) for o in outcomes],
                    },
                    indent=2,
                )
            )
        else:
            self._table(outcomes, options["verbose_failures"])
            self.stdout.write(
                f"\n{passed}/{len(outcomes)} scenarios passed ({rate:.1f}%) on {options['model']} in {seconds:.1f}s"
                f" ({1000 * seconds / len(outcomes):.0f} ms per scenario)"
                + (f"; stored as run #{run_id}" if run_id else "")
            )
        if rate < min_pass:
            raise CommandError(f"pass rate {rate:.1f}% is below the minimum {min_pass:.1f}%")

    def _in_throwaway_db(self, scenarios: list[Any], model: str, progress: Any) -> list[Outcome]:
        """A fresh database (like the test runner's), migrated and seeded; dropped afterwards."""
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
        try:
            prepare_demo_data()
            return run_suite(scenarios, model=model, progress=progress)
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)

    def _table(self, outcomes: list[Outcome], verbose: bool) -> None:
        width = max(len(o.scenario.name) for o in outcomes)
        mark = {True: "ok", False: "--"}
        header = f"{'scenario':<{width}}  turns  route  tools  db   replies  pass  ms"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for o in outcomes:
            self.stdout.write(
                f"{o.scenario.name:<{width}}  {o.turns:>5}  {mark[o.route_ok]:<5}  {mark[o.tools_ok]:<5}  "
                f"{mark[o.db_ok]:<3}  {mark[o.replies_ok]:<7}  {'PASS' if o.passed else 'FAIL'}  {o.duration_ms:>6.0f}"
            )
        failed = [o for o in outcomes if not o.passed]
        if failed:
            self.stdout.write("\nFailures:")
            for o in failed:
                self.stdout.write(f"* {o.scenario.name}")
                for line in o.failures:
                    self.stdout.write(f"    {line}")
                if verbose:
                    for record in o.transcript:
                        self.stdout.write(f"    > {record.customer}")
                        self.stdout.write(f"    < [{record.route}/{record.agent}] {record.tools} {record.reply}")
