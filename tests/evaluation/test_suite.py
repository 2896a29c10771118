"""The scenario suite on the local model: every scenario must pass (make test fails below 100%)."""

from __future__ import annotations

import time

import pytest

from apps.evaluation.runner import prepare_demo_data, run_suite
from apps.evaluation.scenarios import load_scenarios

pytestmark = pytest.mark.django_db


def test_every_scenario_passes_on_the_local_model() -> None:
    # given the demo shop and knowledge base, seeded once
    prepare_demo_data()
    scenarios = load_scenarios()

    # when the whole suite plays against the local model
    started = time.perf_counter()
    outcomes = run_suite(scenarios, model="local")
    seconds = time.perf_counter() - started

    # then every scenario passes
    failed = [o for o in outcomes if not o.passed]
    report = "\n".join(
        f"{o.scenario.name}: {'; '.join(o.failures)}\n"
        + "\n".join(f"    > {r.customer}\n    < [{r.route}/{r.agent}] {r.tools} {r.reply}" for r in o.transcript)
        for o in failed
    )
    assert len(scenarios) >= 40
    assert not failed, f"{len(failed)}/{len(outcomes)} scenarios failed ({seconds:.0f}s):\n{report}"
