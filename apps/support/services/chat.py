"""The console's take over / hand back / close, routed to whoever owns the state.

A conversation escalated by the agent has a live `support.Escalation`: its
services (apps.support.services.escalations) move the escalation and the
conversation together, audit, and tell the customer and the console. A
conversation staff pick up without an escalation (watching a bot chat) goes
through this app's own services. Either way the customer gets a system line
saying who joined or left, from `services`.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.conversations import services
from apps.conversations.models import Conversation, MessageRole


def _active_escalation(conversation: Conversation) -> Any:
    try:
        from apps.support.models import ACTIVE_ESCALATION_STATUSES, Escalation
    except ImportError:  # the support desk is not installed
        return None
    return (
        Escalation.objects.filter(conversation=conversation, status__in=ACTIVE_ESCALATION_STATUSES)
        .order_by("-id")
        .first()
    )


def _escalations() -> Any:
    from apps.support.services import escalations

    return escalations


@transaction.atomic
def takeover(*, conversation: Conversation, staff: Any) -> None:
    escalation = _active_escalation(conversation)
    if escalation is None:
        services.conversation_takeover(conversation=conversation, staff=staff)
        return
    already = escalation.taken_by_id == staff.pk
    _escalations().escalation_take_over(escalation=escalation, staff_user=staff)
    if not already:
        services.message_create(
            conversation=conversation,
            role=MessageRole.SYSTEM,
            text=f"{services._staff_name(staff)} from the support team has joined the chat.",
            agent="human",
            data={"event": "taken_over"},
        )


@transaction.atomic
def hand_back(*, conversation: Conversation, staff: Any) -> None:
    escalation = _active_escalation(conversation)
    if escalation is None:
        services.conversation_hand_back(conversation=conversation, staff=staff)
        return
    _escalations().escalation_hand_back(escalation=escalation, staff_user=staff)
    services.message_create(
        conversation=conversation,
        role=MessageRole.SYSTEM,
        text="You are chatting with the assistant again.",
        agent="human",
        data={"event": "handed_back"},
    )


@transaction.atomic
def close(*, conversation: Conversation, staff: Any, resolution_code: str) -> None:
    escalation = _active_escalation(conversation)
    if escalation is None:
        services.conversation_close(conversation=conversation, staff=staff, resolution_code=resolution_code)
        return
    from django.conf import settings

    from apps.core.errors import ApplicationError

    if resolution_code not in settings.CHAT_RESOLUTION_CODES:
        raise ApplicationError("Unknown resolution code.", code="invalid_resolution_code")
    _escalations().escalation_resolve(escalation=escalation, staff_user=staff, resolution_code=resolution_code)
    conversation.refresh_from_db()
    services.message_create(
        conversation=conversation,
        role=MessageRole.SYSTEM,
        text="This conversation has been closed. How did we do?",
        agent="human",
        data={"event": "closed", "csat": True},
    )
    from apps.conversations import events

    events.push_on_commit(conversation, "closed", resolution_code=resolution_code, csat=True)
