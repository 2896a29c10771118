"""The runtime's hooks into the support desk: escalate to a person, open a ticket, a person asked for.

Both call `apps.support.services` (`escalation_create`, `ticket_create`): the
escalation pauses the bot (through `apps.conversations.services`) and tells the
staff console; a ticket gets the category of the specialist that was answering.
A customer who asks for a person is handed over with the specialists' own
`escalate_to_human` tool (`person_handoff`), so the trace shows the same tool call
whether the router or a specialist decided.
"""

from __future__ import annotations

from typing import Any

from apps.agents.deps import SupportDeps
from apps.agents.registry import SPECIALISTS
from apps.agents.specialists.shared_tools import escalate_to_human
from apps.agents.tools import ToolContext
from apps.conversations.models import Conversation
from apps.core.errors import ApplicationError
from apps.observability.errors import capture_exception
from apps.observability.models import SpanKind
from apps.observability.recorder import summarize
from apps.support import services


def escalate(*, conversation: Conversation, reason_code: str, note: str = "") -> None:
    """Hand the conversation to staff and pause the bot (idempotent)."""
    services.escalation_create(conversation=conversation, reason_code=reason_code, note=note)


def ticket_open(
    *, conversation: Conversation, subject: str, description: str, route: str = "", priority: str = "high"
) -> Any:
    """Open a ticket for staff to follow up a turn the bot could not complete."""
    spec = SPECIALISTS.get(route)
    return services.ticket_create(
        subject=subject,
        description=description,
        category=spec.ticket_category if spec is not None else "other",
        priority=priority,
        conversation=conversation,
        customer=conversation.customer,
        created_by_label="agent",
    )


def person_handoff(deps: SupportDeps, text: str) -> bool:
    """Hand the conversation to a person because the customer asked for one: the `escalate_to_human` tool, run
    by the runtime (traced like any tool call). False when it failed, so the turn escalates by itself instead."""
    spec = escalate_to_human  # the tool every specialist has (specialists.shared_tools)
    arguments = {"reason_code": "customer_request", "note": text[:500]}
    with deps.trace.span(
        SpanKind.TOOL_CALL, spec.name, tool=spec.name, tool_class=str(spec.tool_class), arguments=arguments, by="router"
    ) as data:
        try:
            data["result"] = summarize(spec.run(ToolContext(deps=deps), arguments))
        except ApplicationError as exc:
            data["result"] = f"REFUSED ({exc.code}): {exc.message}"
            return False
        except Exception as exc:  # noqa: BLE001 -- reported to Sentry; the turn's own escalation still runs
            data["result"] = "failed"
            capture_exception(exc, tool=spec.name, conversation=deps.conversation.pk)
            return False
    return True
