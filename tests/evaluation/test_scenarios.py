"""Scenario files: the loader's checks and the evaluate command's output, exit code and stored run."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.evaluation import runner
from apps.evaluation import scenarios as scenario_files
from apps.evaluation.models import EvaluationRun, ScenarioResult
from apps.evaluation.runner import Outcome, TurnRecord
from apps.evaluation.scenarios import ScenarioError, load_scenarios, load_suite, parse, read_scenario_file

VALID = {"customer": "alice", "turns": [{"say": "hi", "route": "faq"}]}
VALID_FILE = "customer: alice\nturns:\n  - say: hi\n    route: faq\n"


def test_every_scenario_file_loads_and_covers_each_specialist() -> None:
    suite = load_suite()
    scenarios = load_scenarios()
    by_portion = {portion: [s for s in suite if s.portion == portion] for portion in scenario_files.PORTIONS}

    assert len(scenarios) >= 40
    assert [s.name for s in by_portion["tuned"]] == [s.name for s in scenarios]
    assert len(suite) >= 250
    # the held-out third: a third of the customer-first scenarios, give or take rounding
    customer_first = [s for s in suite if "customer-first" in s.tags]
    assert abs(len(by_portion["heldout"]) - len(customer_first) / 3) <= 1
    assert all("customer-first" in s.tags for s in by_portion["heldout"])
    # each customer-first scenario says what kind it is, so failures can be read by kind
    kinds = {"realistic", "edge", "adversarial"}
    assert [s.name for s in customer_first if len(kinds & set(s.tags)) != 1] == []
    tags = {tag for s in suite for tag in s.tags}
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


def test_a_turn_may_name_the_sources_listed_under_the_reply_or_none() -> None:
    scenario = parse(
        {
            "customer": "alice",
            "turns": [
                {"say": "return policy?", "cites": ["Return policy"]},
                {"say": "loyalty?", "cites": []},
                {"say": "x"},
            ],
        },
        default_name="s",
    )

    assert [t.cites for t in scenario.turns] == [("Return policy",), (), None]


def _scored(reply: str, sources: list[str], **turn: Any) -> Outcome:
    scenario = parse({"customer": "alice", "turns": [{"say": "q", **turn}]}, default_name="s")
    outcome = Outcome(scenario=scenario)
    outcome.transcript.append(
        TurnRecord(customer="q", reply=reply, route="faq", agent="faq", tools=[], tool_errors=[], sources=sources)
    )
    runner._score(outcome, scenario)
    return outcome


def test_replies_are_checked_ignoring_case_and_hyphens_and_sources_by_what_is_listed() -> None:
    # given a reply and the sources listed under it
    reply, sources = "Final-sale items cannot be returned.", ["Final-sale items > Final sale means"]

    # then
    assert _scored(reply, sources, reply_contains=["final sale items"], cites=["final-sale"]).replies_ok
    assert not _scored(reply, sources, cites=["Return policy"]).replies_ok
    assert not _scored(reply, sources, cites=[]).replies_ok
    assert _scored(reply, [], cites=[]).replies_ok
    assert not _scored(reply, sources, reply_not_contains=["FINAL SALE"]).replies_ok


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    # given a file whose third line does not parse (an unclosed flow sequence)
    path = _write(tmp_path, "broken_file.yaml", "customer: alice\nturns:\n  - say: [hi\n    route: faq\n")

    # when it is read, then the error names the file and a line, not a raw traceback
    with pytest.raises(ScenarioError, match=r"^broken_file\.yaml:\d+:\d+: not valid YAML: ") as caught:
        read_scenario_file(path)
    assert caught.value.__cause__ is None


def test_a_say_text_cut_by_an_unquoted_hash_is_reported(tmp_path: Path) -> None:
    # given a turn whose unquoted text contains " #" (YAML would keep only "where is order")
    path = _write(tmp_path, "cut_text.yaml", "customer: alice\nturns:\n  - say: where is order #100003\n")

    # when it is read, then the file, the line and the turn are named
    with pytest.raises(ScenarioError, match=r"^cut_text\.yaml: line 3: turn 1: the say text is cut at ' #'"):
        read_scenario_file(path)


@pytest.mark.parametrize(
    ("say", "text"),
    [
        ('"where is order # 100003"', "where is order # 100003"),
        ("'order # 100003'", "order # 100003"),
        ("order#100003 please", "order#100003 please"),
    ],
)
def test_quoted_or_glued_hashes_are_kept(tmp_path: Path, say: str, text: str) -> None:
    # given a quoted or glued hash in the text, and a real comment after another key
    path = _write(tmp_path, "fine.yaml", f"customer: alice\nturns:\n  - say: {say}\n    route: faq  # a comment\n")

    # when read, the text is whole
    scenario = read_scenario_file(path)

    assert scenario.turns[0].say == text
    assert scenario.turns[0].route == ("faq",)


def test_a_malformed_scenario_in_a_folder_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a held-out folder with one good and one broken file
    _write(tmp_path / "heldout", "good.yaml", VALID_FILE)
    _write(tmp_path / "heldout", "bad.yaml", "customer: alice\nturns: [\n")
    _portions(monkeypatch, tmp_path)

    with pytest.raises(ScenarioError, match=r"^bad\.yaml:\d+:\d+: not valid YAML"):
        load_suite()


def _portions(monkeypatch: pytest.MonkeyPatch, base: Path) -> None:
    for portion in scenario_files.PORTIONS:
        (base / portion).mkdir(parents=True, exist_ok=True)
        monkeypatch.setitem(scenario_files.PORTIONS, portion, base / portion)


def test_suite_portions_are_tagged_and_names_unique_across_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given one scenario per folder
    _write(tmp_path / "tuned", "a.yaml", VALID_FILE)
    _write(tmp_path / "backlog", "b.yaml", VALID_FILE)
    _write(tmp_path / "heldout", "c.yaml", VALID_FILE)
    _portions(monkeypatch, tmp_path)

    # when loaded, each carries its portion, in portion order
    assert [(s.name, s.portion) for s in load_suite()] == [("a", "tuned"), ("b", "backlog"), ("c", "heldout")]
    assert [s.name for s in load_suite(["heldout"])] == ["c"]

    # and a name used in two folders is refused, even when only one portion is asked for
    _write(tmp_path / "heldout", "a.yaml", VALID_FILE)
    with pytest.raises(ScenarioError, match=r"duplicate scenario names: \['a'\]"):
        load_suite(["tuned"])
    with pytest.raises(ScenarioError, match="unknown portion"):
        load_suite(["training"])


@pytest.mark.django_db
def test_evaluate_reports_portions_apart_and_gates_only_the_tuned_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.evaluation import runner
    from apps.evaluation.management.commands import evaluate

    # given a passing tuned scenario, a failing backlog one and two held-out ones (one failing)
    _write(tmp_path / "tuned", "t_pass.yaml", "tags: [order]\n" + VALID_FILE)
    _write(tmp_path / "backlog", "b_fail.yaml", "tags: [returns, typo]\n" + VALID_FILE)
    _write(tmp_path / "heldout", "h_pass.yaml", "tags: [billing]\n" + VALID_FILE)
    _write(tmp_path / "heldout", "h_fail.yaml", "tags: [returns, customer-first]\n" + VALID_FILE)
    _portions(monkeypatch, tmp_path)

    def fake_suite(scenarios: list[Any], *, model: str, progress: Any = None) -> list[runner.Outcome]:
        ok = {name: "fail" not in name for name in (s.name for s in scenarios)}
        return [
            runner.Outcome(
                scenario=s,
                turns=1,
                route_ok=ok[s.name],
                tools_ok=True,
                db_ok=True,
                replies_ok=True,
                failures=[] if ok[s.name] else ["turn 1: route faq, expected returns"],
            )
            for s in scenarios
        ]

    monkeypatch.setattr(evaluate, "run_suite", fake_suite)
    monkeypatch.setattr(evaluate, "prepare_demo_data", lambda: {})
    out = StringIO()

    # when the whole suite is evaluated (no error: the tuned portion passes)
    call_command("evaluate", "--current-db", "--json", stdout=out)

    # then each portion has its own figures and failures by tag, and its own stored run
    document = json.loads(out.getvalue())
    assert document["portions"] == {
        "tuned": {"scenarios": 1, "passed": 1, "pass_rate": 100.0, "failures_by_tag": {}},
        "backlog": {"scenarios": 1, "passed": 0, "pass_rate": 0.0, "failures_by_tag": {"returns": 1, "typo": 1}},
        "heldout": {"scenarios": 2, "passed": 1, "pass_rate": 50.0, "failures_by_tag": {"returns": 1}},
    }
    assert [(r["scenario"], r["portion"]) for r in document["results"]] == [
        ("t_pass", "tuned"),
        ("b_fail", "backlog"),
        ("h_fail", "heldout"),
        ("h_pass", "heldout"),
    ]
    runs = {run.suite: (run.scenarios, run.passed, run.min_pass) for run in EvaluationRun.objects.all()}
    assert runs == {"tuned": (1, 1, 100.0), "backlog": (1, 0, 0.0), "heldout": (2, 1, 0.0)}

    # and the table output names the portions with their figures
    text = StringIO()
    call_command("evaluate", "--current-db", "--portion", "heldout", stdout=text, stderr=StringIO())
    assert "heldout  1/2 passed (50.0%), reported only" in text.getvalue()
    assert "failures by tag: returns 1" in text.getvalue()


@pytest.mark.django_db
def test_evaluate_fails_when_the_tuned_portion_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.evaluation import runner
    from apps.evaluation.management.commands import evaluate

    _write(tmp_path / "tuned", "t_fail.yaml", VALID_FILE)
    _write(tmp_path / "heldout", "h_pass.yaml", VALID_FILE)
    _portions(monkeypatch, tmp_path)

    def fake_suite(scenarios: list[Any], *, model: str, progress: Any = None) -> list[runner.Outcome]:
        return [
            runner.Outcome(
                scenario=s, turns=1, route_ok=s.portion != "tuned", tools_ok=True, db_ok=True, replies_ok=True
            )
            for s in scenarios
        ]

    monkeypatch.setattr(evaluate, "run_suite", fake_suite)
    monkeypatch.setattr(evaluate, "prepare_demo_data", lambda: {})

    with pytest.raises(CommandError, match=r"tuned pass rate 0\.0% is below the minimum 100\.0%"):
        call_command("evaluate", "--current-db", stdout=StringIO(), stderr=StringIO())
