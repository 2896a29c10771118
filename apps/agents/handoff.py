"""The runtime's two hooks into the support desk: escalate to a person, open a ticket.

Both call `apps.support.services` (`escalation_create`, `ticket_create`): the
escalation pauses the bot (through `apps.conversations.services`) and tells the
staff console; a ticket gets the category of the specialist that was answering.
"""

from __future__ import annotations

from typing import Any

from apps.agents.registry import SPECIALISTS
from apps.conversations.models import Conversation
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
