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

from django.db.models import Count, Subquery
from django.db.models.functions import Coalesce

from apps.agents.deps import SupportDeps
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
    order_numbers: list[str] = []
    names: list[str] = []
    phones: list[str] = []
    if customer is not None:
        emails.append(customer.email)
        names.append(f"{customer.first_name} {customer.last_name}")
        phones.append(customer.phone)
        order_numbers.extend(customer.orders.values_list("number", flat=True)[:200])
    if order is not None:
        order_numbers.append(order.number)
        emails.append(order.customer.email)
    # The recent customer texts and the injection strikes in one statement (the count rides on each row).
    blocked = Trace.objects.filter(conversation=deps.conversation, status=TraceStatus.BLOCKED)
    strikes_of = blocked.order_by().values("conversation").annotate(n=Count("pk")).values("n")
    rows = list(
        deps.conversation.messages.filter(role="customer")
        .order_by("-seq")
        .annotate(strikes=Coalesce(Subquery(strikes_of), 0))
        .values_list("text", "strikes")[:30]
    )
    customer_text = "\n".join(text for text, _ in rows)
    strikes = rows[0][1] if rows else blocked.count()
    return {
        "emails": emails,
        "order_numbers": order_numbers,
        "phones": phones,
        "names": names,
        "customer_text": customer_text,
        "injection_strikes": strikes,
    }


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
