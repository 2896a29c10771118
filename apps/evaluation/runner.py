"""Play scenarios against the real turn pipeline and score them.

Each scenario runs inside a transaction that is rolled back at the end, so
every scenario starts from the same demo data and nothing it does survives;
after-commit side effects (Celery tasks, emails, websocket pushes of stored
messages) never fire. Turns are played synchronously with `turn_run`, exactly
as the worker runs them, and scored on the trace (route, tool calls), the
replies and the database state before the rollback.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.test.utils import override_settings
from django.utils import timezone

from apps.conversations.rendering import source_labels
from apps.evaluation.models import EvaluationRun, ScenarioResult
from apps.evaluation.scenarios import MODELS, DbCheck, Scenario, TurnSpec

logger = logging.getLogger(__name__)

DEMO_CUSTOMERS = 20
DEMO_ORDERS = 60


@dataclass
class TurnRecord:
    customer: str
    reply: str | None
    route: str
    agent: str
    tools: list[str]
    tool_errors: list[str]
    status: str = ""
    sources: list[str] = field(default_factory=list)  # the help-center sources listed under the reply


@dataclass
class Outcome:
    scenario: Scenario
    turns: int = 0
    route_ok: bool = False
    tools_ok: bool = False
    db_ok: bool = False
    replies_ok: bool = False
    duration_ms: float = 0.0
    failures: list[str] = field(default_factory=list)
    transcript: list[TurnRecord] = field(default_factory=list)
    error: str = ""

    @property
    def passed(self) -> bool:
        return not self.error and self.route_ok and self.tools_ok and self.db_ok and self.replies_ok


class _Rollback(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


# -- demo data ----------------------------------------------------------------------------------
def prepare_demo_data() -> dict[str, Any]:
    """The demo shop (dated today, so "delivered 5 days ago" holds) and the demo knowledge base."""
    from django.core.management import call_command

    from apps.commerce.demo.seed import seed_demo

    report: dict[str, Any] = {}
    started = time.perf_counter()
    report["seeded"] = seed_demo(base_date=timezone.localdate(), customers=DEMO_CUSTOMERS, orders=DEMO_ORDERS)
    report["seed_seconds"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    from apps.knowledge.models import Document

    if not Document.objects.filter(source__name=settings.KNOWLEDGE_DEMO_SOURCE).exists():
        call_command("ingest_demo_kb", stdout=_Null(), stderr=_Null())
    report["kb_seconds"] = round(time.perf_counter() - started, 2)
    return report


class _Null:
    def write(self, *args: Any, **kwargs: Any) -> None:
        pass

    def flush(self) -> None:
        pass


# -- playing ------------------------------------------------------------------------------------
def _identity(scenario: Scenario) -> tuple[Any, Any]:
    from apps.commerce.models import Customer
    from apps.commerce.selectors import order_find_for_guest

    if scenario.guest:
        order = order_find_for_guest(number=scenario.guest["order"], email=scenario.guest["email"])
        return None, order
    customer = Customer.objects.filter(user__username=scenario.customer).first()
    if customer is None:
        raise LookupError(f"no demo customer {scenario.customer!r}: is the demo data loaded?")
    return customer, None


def _snapshot(names: tuple[str, ...]) -> dict[str, list[dict[str, Any]]]:
    return {name: list(django_apps.get_model(MODELS[name]).objects.order_by("pk").values()) for name in names}


def _advance_clock(conversation: Any, minutes: int) -> None:
    """Time passes: what is waiting for the customer's answer is `minutes` older."""
    from apps.agents.models import PendingAction

    delta = timedelta(minutes=minutes)
    PendingAction.objects.filter(conversation=conversation).update(
        expires_at=F("expires_at") - delta, created_at=F("created_at") - delta
    )


def _staff_step(conversation: Any, step: str) -> None:
    from apps.accounts.models import User
    from apps.support.models import Escalation
    from apps.support.services import escalation_hand_back, escalation_take_over

    if step == "hand_back":
        escalation = Escalation.objects.filter(conversation=conversation).order_by("-id").first()
        if escalation is None:
            raise AssertionError("staff hand_back: the conversation was never escalated")
        staff = User.objects.filter(is_active=True, is_staff=True, is_superuser=True).order_by("pk").first()
        if staff is None:
            raise AssertionError("staff hand_back: no active superuser in the demo data")
        escalation = escalation_take_over(escalation=escalation, staff_user=staff)
        escalation_hand_back(escalation=escalation, staff_user=staff)


def _play_turn(conversation: Any, index: int, spec: TurnSpec) -> TurnRecord:
    from apps.agents.turns import turn_run
    from apps.conversations.services import message_accept_customer
    from apps.observability.models import SpanKind, Trace

    message, _ = message_accept_customer(conversation=conversation, text=spec.say, client_message_id=f"eval-{index}")
    reply = turn_run(message_id=message.pk)
    trace = Trace.objects.filter(message=message).order_by("-id").first()
    tools: list[str] = []
    errors: list[str] = []
    route = agent = status = ""
    if trace is not None:
        route, agent, status = trace.route, trace.agent, trace.status
        for span in trace.spans.filter(kind=SpanKind.TOOL_CALL).order_by("position"):
            # A pending write decided "no", unclear or too late is traced but did not run.
            tools.append(span.name if span.data.get("executed", True) else f"{span.name}:not_run")
            if span.error:
                errors.append(f"{span.name}: {span.error}")
    conversation.refresh_from_db()
    return TurnRecord(
        customer=spec.say,
        reply=reply.text if reply is not None else None,
        route=route,
        agent=agent,
        tools=tools,
        tool_errors=errors,
        status=status,
        sources=source_labels(reply.text, reply.citations) if reply is not None else [],
    )


def _is_subsequence(expected: tuple[str, ...], actual: list[str]) -> bool:
    remaining = iter(actual)
    return all(any(name == got for got in remaining) for name in expected)


def _resolve(value: Any, context: dict[str, Any]) -> Any:
    """`$conversation` is the conversation's id; inside a longer string (`customer:$customer`) it is substituted."""
    if isinstance(value, str) and "$" in value:
        if value.startswith("$") and value[1:] in context:
            return context[value[1:]]
        for name, replacement in context.items():
            value = value.replace(f"${name}", str(replacement))
    return value


def _check_db(check: DbCheck, context: dict[str, Any]) -> list[str]:
    model = django_apps.get_model(MODELS[check.model])
    where = {key: _resolve(value, context) for key, value in check.where.items()}
    rows = list(model.objects.filter(**where))
    label = f"{check.model} {check.where}"
    if check.count is not None and len(rows) != check.count:
        return [f"db: {label}: {len(rows)} row(s), expected {check.count}"]
    if check.count is None and not rows:
        return [f"db: {label}: no row"]
    failures = []
    for row in rows:
        for name, expected in check.fields.items():
            expected = _resolve(expected, context)
            actual = row
            for part in name.split("__"):
                actual = getattr(actual, part, None)
            if str(actual) != str(expected):
                failures.append(f"db: {label}: {name} is {actual!s}, expected {expected!s}")
    return failures


def _comparable(text: str) -> str:
    """Text as reply checks compare it: case, and a hyphen or a space between words ("final-sale" is
    "final sale"), make no difference."""
    return text.lower().replace("-", " ")


def _score(outcome: Outcome, scenario: Scenario) -> None:
    route_ok = tools_ok = replies_ok = True
    records = iter(outcome.transcript)
    for index, spec in enumerate(scenario.turns, start=1):
        if not spec.say:
            continue
        record = next(records)
        if spec.route is not None and record.route not in spec.route:
            route_ok = False
            expected = " or ".join(spec.route)
            outcome.failures.append(f"turn {index}: route {record.route or '-'}, expected {expected}")
        if not _is_subsequence(spec.tools, record.tools):
            tools_ok = False
            outcome.failures.append(f"turn {index}: tools {record.tools}, expected {list(spec.tools)} in order")
        forbidden = [t for t in spec.no_tools if t in record.tools]
        if forbidden:
            tools_ok = False
            outcome.failures.append(f"turn {index}: forbidden tools called: {forbidden}")
        reply = _comparable(record.reply or "")
        for needle in spec.reply_contains:
            if _comparable(needle) not in reply:
                replies_ok = False
                outcome.failures.append(f"turn {index}: reply lacks {needle!r}")
        for needle in spec.reply_not_contains:
            if _comparable(needle) in reply:
                replies_ok = False
                outcome.failures.append(f"turn {index}: reply contains {needle!r}")
        if spec.cites is not None:
            listed = _comparable(" | ".join(record.sources))
            missing = [c for c in spec.cites if _comparable(c) not in listed]
            if missing or (not spec.cites and record.sources):
                replies_ok = False
                outcome.failures.append(
                    f"turn {index}: sources {record.sources}, expected {list(spec.cites) or 'none'}"
                )
    outcome.route_ok, outcome.tools_ok, outcome.replies_ok = route_ok, tools_ok, replies_ok


def _play(scenario: Scenario) -> Outcome:
    from apps.conversations.models import Conversation

    outcome = Outcome(scenario=scenario)
    customer, verified_order = _identity(scenario)
    before = _snapshot(scenario.unchanged)
    conversation = Conversation.objects.create(customer=customer, verified_order=verified_order, channel="api")
    for index, spec in enumerate(scenario.turns, start=1):
        if spec.advance_minutes:
            _advance_clock(conversation, spec.advance_minutes)
        if spec.staff:
            _staff_step(conversation, spec.staff)
            conversation.refresh_from_db()
        if spec.say:
            outcome.transcript.append(_play_turn(conversation, index, spec))
    outcome.turns = len(outcome.transcript)
    _score(outcome, scenario)
    context = {"conversation": conversation.pk, "customer": customer.pk if customer else None}
    db_failures: list[str] = []
    for check in scenario.db:
        db_failures.extend(_check_db(check, context))
    after = _snapshot(scenario.unchanged)
    for name in scenario.unchanged:
        if before[name] != after[name]:
            db_failures.append(f"db: {name} changed")
    outcome.failures.extend(db_failures)
    outcome.db_ok = not db_failures
    return outcome


def run_scenario(scenario: Scenario) -> Outcome:
    """Play one scenario in a transaction that is always rolled back."""
    started = time.perf_counter()
    try:
        with transaction.atomic():
            raise _Rollback(_play(scenario))
    except _Rollback as rollback:
        outcome = rollback.outcome
    except Exception as exc:  # a broken scenario or a crash: reported, and the suite goes on
        logger.exception("scenario %s crashed", scenario.name)
        outcome = Outcome(scenario=scenario, error=f"{type(exc).__name__}: {exc}"[:2000])
        outcome.failures.append(outcome.error)
    outcome.duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return outcome


@contextmanager
def model_settings(model: str) -> Iterator[None]:
    """Run the agents on `model` (router and specialists), with no fallback but local."""
    with override_settings(
        SWITCHBOARD_AGENT_MODEL=model,
        SWITCHBOARD_ROUTER_MODEL=model,
        SWITCHBOARD_AGENT_FALLBACKS=[],
        SWITCHBOARD_ROUTER_FALLBACKS=[],
    ):
        yield


def run_suite(
    scenarios: list[Scenario],
    *,
    model: str = "local",
    progress: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    outcomes = []
    with model_settings(model):
        for scenario in scenarios:
            outcome = run_scenario(scenario)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
    return outcomes


def _revision() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - a fixed command, no input
            capture_output=True,
            text=True,
            timeout=2,
            cwd=settings.BASE_DIR,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip()[:64] if result.returncode == 0 else ""


def store_run(
    outcomes: list[Outcome], *, model: str, suite: str, min_pass: float, started_at: Any, seconds: float
) -> EvaluationRun:
    passed = sum(1 for o in outcomes if o.passed)
    with transaction.atomic():
        run = EvaluationRun.objects.create(
            started_at=started_at,
            finished_at=timezone.now(),
            model=model,
            suite=suite[:200],
            scenarios=len(outcomes),
            passed=passed,
            pass_rate=round(100.0 * passed / len(outcomes), 2) if outcomes else 0.0,
            duration_seconds=round(seconds, 2),
            min_pass=min_pass,
            revision=_revision(),
        )
        ScenarioResult.objects.bulk_create(
            [
                ScenarioResult(
                    run=run,
                    name=o.scenario.name,
                    tags=list(o.scenario.tags),
                    turns=o.turns,
                    route_ok=o.route_ok,
                    tools_ok=o.tools_ok,
                    db_ok=o.db_ok,
                    replies_ok=o.replies_ok,
                    passed=o.passed,
                    duration_ms=o.duration_ms,
                    failures=o.failures,
                    transcript=[record.__dict__ for record in o.transcript],
                    error=o.error,
                )
                for o in outcomes
            ]
        )
    return run


def outcome_row(outcome: Outcome) -> dict[str, Any]:
    return {
        "scenario": outcome.scenario.name,
        "turns": outcome.turns,
        "route_ok": outcome.route_ok,
        "tools_ok": outcome.tools_ok,
        "db_ok": outcome.db_ok,
        "replies_ok": outcome.replies_ok,
        "passed": outcome.passed,
        "ms": outcome.duration_ms,
        "failures": outcome.failures,
    }
