"""Scenario files: the loader's checks and the evaluate command's output, exit code and stored run."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.evaluation.models import EvaluationRun, ScenarioResult
from apps.evaluation.scenarios import ScenarioError, load_scenarios, parse

VALID = {"customer": "alice", "turns": [{"say": "hi", "route": "faq"}]}


def test_every_scenario_file_loads_and_covers_each_specialist() -> None:
    scenarios = load_scenarios()

    assert len(scenarios) >= 40
    tags = {tag for s in scenarios for tag in s.tags}
    assert {
        "order",
        "returns",
        "billing",
        "faq",
        "confirmation",
        "decline",
        "expiry",
        "policy",
        "escalation",
        "hand-back",
        "guest",
        "dont-know",
        "out_of_scope",
    } <= tags


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"guest": {"order": "TW-1", "email": "a@b.c"}}, "exactly one of customer or guest"),
        ({"colour": "red"}, "unknown keys"),
        ({"turns": []}, "no turns"),
        ({"turns": [{"route": "faq"}]}, "neither say nor staff"),
        ({"turns": [{"say": "hi", "staff": "dance"}]}, "unknown staff step"),
        ({"expect": {"db": [{"model": "spaceship"}]}}, "unknown model"),
        ({"expect": {"unchanged": ["nothing"]}}, "unknown model"),
    ],
)
def test_malformed_scenarios_are_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse({**VALID, **change}, default_name="broken")


def test_money_tables_are_always_checked_unchanged() -> None:
    scenario = parse({**VALID, "expect": {"unchanged": ["order"]}}, default_name="s")

    assert scenario.unchanged == ("refund", "order")


@pytest.mark.django_db
def test_evaluate_prints_json_stores_the_run_and_fails_below_the_minimum(monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.evaluation import runner
    from apps.evaluation.management.commands import evaluate

    # given one real scenario and a runner whose outcome we decide (the suite test plays them for real)
    def fake_suite(scenarios: list[Any], *, model: str, progress: Any = None) -> list[runner.Outcome]:
        outcomes = []
        for scenario in scenarios:
            outcome = runner.Outcome(
                scenario=scenario,
                turns=1,
                route_ok=True,
                tools_ok=True,
                db_ok=False,
                replies_ok=True,
                failures=["db: order changed"],
            )
            outcomes.append(outcome)
        return outcomes

    monkeypatch.setattr(evaluate, "run_suite", fake_suite)
    monkeypatch.setattr(evaluate, "prepare_demo_data", lambda: {})
    out = StringIO()

    # when it runs below the minimum
    with pytest.raises(CommandError, match="below the minimum"):
        call_command("evaluate", "--current-db", "--scenario", "order_list_recent", "--json", stdout=out)

    # then the JSON names the scenario and its failure, and the run is stored
    document = json.loads(out.getvalue())
    assert (document["scenarios"], document["passed"], document["pass_rate"]) == (1, 0, 0.0)
    assert document["results"][0]["scenario"] == "order_list_recent"
    assert document["results"][0]["failures"] == ["db: order changed"]
    run = EvaluationRun.objects.get()
    assert (run.model, run.scenarios, run.passed, run.min_pass) == ("local", 1, 0, 100.0)
    result = ScenarioResult.objects.get(run=run)
    assert (result.name, result.passed, result.db_ok) == ("order_list_recent", False, False)


@pytest.mark.django_db
def test_evaluate_with_an_unknown_scenario_is_an_error() -> None:
    with pytest.raises(CommandError, match="no scenario matches"):
        call_command("evaluate", "--current-db", "--scenario", "no-such-scenario")
    assert EvaluationRun.objects.count() == 0


def test_a_turn_may_accept_several_routes() -> None:
    scenario = parse(
        {"customer": "alice", "turns": [{"say": "hi", "route": ["returns", "faq"]}, {"say": "ok", "route": "order"}]},
        default_name="s",
    )

    assert [t.route for t in scenario.turns] == [("returns", "faq"), ("order",)]
