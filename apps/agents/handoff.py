"""The runtime's two hooks into the support desk: escalate to a person, open a ticket.

Both call `apps.support.services` (`escalation_create`, `ticket_create`). While
that app is not installed, escalation still pauses the bot (conversation status
`waiting_human`, staff console notified) and ticket creation is logged, so the
runtime never silently drops a handoff.
"""

from __future__ import annotations

import logging
from typing import Any

from apps.conversations import events
from apps.conversations.models import Conversation, ConversationStatus

logger = logging.getLogger(__name__)

REASON_CODES = (
    "customer_request",
    "low_confidence",
    "repeated_failure",
    "policy_exception",
    "tool_failure",
    "budget_exhausted",
    "negative_sentiment",
)

TICKET_CATEGORY_BY_ROUTE = {"order": "order", "returns": "returns", "billing": "billing"}


def _support_services() -> Any | None:
    try:
        from apps.support import services
    except ImportError:
        return None
    if not hasattr(services, "escalation_create"):
        return None
    return services


def escalate(*, conversation: Conversation, reason_code: str, note: str = "") -> None:
    """Hand the conversation to staff and pause the bot (idempotent)."""
    services = _support_services()
    if services is not None:
        services.escalation_create(conversation=conversation, reason_code=reason_code, note=note)
        return
    logger.warning("apps.support not installed: pausing the bot for conversation %s (%s)", conversation.pk, reason_code)
    if conversation.status == ConversationStatus.OPEN:
        Conversation.objects.filter(pk=conversation.pk, status=ConversationStatus.OPEN).update(
            status=ConversationStatus.WAITING_HUMAN
        )
        conversation.status = ConversationStatus.WAITING_HUMAN
    events.push_staff_on_commit("escalation_created", conversation=str(conversation.public_id), reason_code=reason_code)


def ticket_open(
    *, conversation: Conversation, subject: str, description: str, route: str = "", priority: str = "high"
) -> Any:
    """Open a ticket for staff to follow up a turn the bot could not complete."""
    services = _support_services()
    if services is None or not hasattr(services, "ticket_create"):
        logger.error("apps.support not installed: ticket not created for conversation %s: %s", conversation.pk, subject)
        return None
    return services.ticket_create(
        subject=subject,
        description=description,
        category=TICKET_CATEGORY_BY_ROUTE.get(route, "other"),
        priority=priority,
        conversation=conversation,
        customer=conversation.customer,
        created_by_label="agent",
    )
