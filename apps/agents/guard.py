"""The turn's calls into `apps.guardrails` (input and output checks), recorded as spans.

Interface used (apps/guardrails/checks.py):
    check_input(text, *, context: GuardrailContext) -> InputResult(text, verdicts, blocked, escalate)
    check_output(text, *, context: GuardrailContext) -> OutputResult(text, verdicts, blocked, escalate)
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import connection

from apps.agents.deps import SupportDeps
from apps.commerce.models import Order
from apps.conversations.models import Message, MessageRole
from apps.guardrails import checks
from apps.guardrails.streaming import OutputStreamGuard
from apps.guardrails.types import GuardrailContext
from apps.observability.models import SpanKind, Trace, TraceStatus

logger = logging.getLogger(__name__)

INPUT_BLOCKED_REPLY = (
    "I can't help with that request. I can help with your orders, returns, billing and questions about our shop."
)


@dataclass
class GuardOutcome:
    text: str
    blocked: bool = False
    escalate: bool = False
    verdicts: list[dict[str, Any]] = field(default_factory=list)


def _context(deps: SupportDeps, *, system_prompts: tuple[str, ...] = ()) -> GuardrailContext:
    """The turn's guardrail context: what the database knows is read once per turn (`deps.guard_base`);
    the system prompts and the refunds a tool made this turn are added per check."""
    if deps.guard_base is None:
        deps.guard_base = _base_context(deps)
    return GuardrailContext.build(
        **deps.guard_base, system_prompts=system_prompts, refunded_orders=deps.facts.get("refunded_orders", ())
    )


def _base_context(deps: SupportDeps) -> dict[str, Any]:
    customer, order = deps.customer, deps.verified_order
    emails: list[str] = []
    names: list[str] = []
    phones: list[str] = []
    if customer is not None:
        emails.append(customer.email)
        names.append(f"{customer.first_name} {customer.last_name}")
        phones.append(customer.phone)
    # The customer's order numbers, the recent customer texts and the injection strikes in one statement, written
    # as SQL: the ORM's compile of it took longer than PostgreSQL took to run it, on every turn (issue 14).
    with connection.cursor() as cursor:
        cursor.execute(
            _BASE_CONTEXT_SQL,
            [
                getattr(customer, "pk", None),
                deps.conversation.pk,
                MessageRole.CUSTOMER,
                deps.conversation.pk,
                TraceStatus.BLOCKED,
            ],
        )
        order_numbers, customer_text, strikes = cursor.fetchone()
    order_numbers = list(order_numbers)
    if order is not None:
        order_numbers.append(order.number)
        emails.append(order.customer.email)
    return {
        "emails": emails,
        "order_numbers": order_numbers,
        "phones": phones,
        "names": names,
        "customer_text": customer_text or "",
        "injection_strikes": strikes,
    }


_ORDERS = Order._meta.db_table
_BASE_CONTEXT_SQL = (
    # the customer's orders newest first, as Order's default ordering lists them
    f"SELECT ARRAY(SELECT o.number FROM {_ORDERS} o WHERE o.customer_id = %s "  # noqa: S608 - constant names
    f"ORDER BY o.placed_at DESC, o.id DESC LIMIT 200), "
    # the last 30 customer texts, newest first, one a line
    f"(SELECT string_agg(x.text, E'\\n' ORDER BY x.seq DESC) FROM (SELECT m.text, m.seq FROM "
    f"{Message._meta.db_table} m WHERE m.conversation_id = %s AND m.role = %s ORDER BY m.seq DESC LIMIT 30) x), "
    f"(SELECT count(*) FROM {Trace._meta.db_table} t WHERE t.conversation_id = %s AND t.status = %s)"
)


def _record(deps: SupportDeps, name: str, result: Any, latency_ms: float) -> GuardOutcome:
    verdicts = [v.as_dict() for v in result.verdicts]
    deps.trace.add(
        SpanKind.GUARDRAIL,
        name,
        latency_ms=latency_ms,
        action=str(result.action),
        blocked=result.blocked,
        escalate=result.escalate,
        verdicts=verdicts,
    )
    return GuardOutcome(text=result.text, blocked=result.blocked, escalate=result.escalate, verdicts=verdicts)


_INJECTION_CHECK = "input.injection"


def learned_injection_only(outcome: GuardOutcome) -> bool:
    """The input was blocked by the injection detector's learned score alone: no injection rule matched and no other
    check blocked. ("write me a python script that scrapes prices" reads like an instruction to that score.)"""
    failed = [v for v in outcome.verdicts if not v["passed"]]
    return (
        outcome.blocked
        and not outcome.escalate
        and len(failed) == 1
        and failed[0]["name"] == _INJECTION_CHECK
        and not failed[0].get("detail", {}).get("rules")
    )


def guard_input(deps: SupportDeps, text: str) -> GuardOutcome:
    t0 = time.perf_counter()
    result = checks.check_input(text, context=_context(deps))
    return _record(deps, "input", result, (time.perf_counter() - t0) * 1000)


def guard_output(deps: SupportDeps, text: str, *, system_prompts: tuple[str, ...] = ()) -> GuardOutcome:
    t0 = time.perf_counter()
    result = checks.check_output(text, context=_context(deps, system_prompts=system_prompts))
    return _record(deps, "output", result, (time.perf_counter() - t0) * 1000)


def output_stream_guard(deps: SupportDeps, *, system_prompts: tuple[str, ...] = ()) -> OutputStreamGuard:
    """A guard that releases streamed text only in whole sentences that passed the output checks.

    Built here, in sync code, because the context reads the database; feeding it is
    pure Python and safe inside the event loop.
    """
    return OutputStreamGuard(context=_context(deps, system_prompts=system_prompts), check=checks.check_output)


def mask_history(deps: SupportDeps, history: list[Any]) -> list[Any]:
    """Earlier customer messages pass the input checks' masking too (PII never reaches a model).

    Only the text is taken (`checks.masked_input`): an earlier message was already judged on its own turn.
    """
    if not history:
        return history
    context = _context(deps)
    masked: list[Any] = []
    changed = 0
    for item in history:
        if item.role == "customer":
            text = checks.masked_input(item.text, context=context)
            if text != item.text:
                changed += 1
                item = replace(item, text=text)
        masked.append(item)
    if changed:
        deps.trace.add(SpanKind.GUARDRAIL, "history", action="mask", masked_messages=changed)
    return masked
