"""The console's take over / hand back / close of a chat, whether or not the agent escalated it.

A conversation escalated by the agent has a live `support.Escalation`: the
escalation services move the escalation and the conversation together, audit,
and tell the customer and the console. A conversation staff pick up without an
escalation (watching a bot chat) goes through `apps.conversations.services`.
Either way the customer gets a system line saying who joined or left, and the
conversation's state is written by `apps.conversations.services` only.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from apps.conversations import events, services
from apps.conversations.models import Conversation, MessageRole
from apps.core.errors import ApplicationError
from apps.support.models import ACTIVE_ESCALATION_STATUSES, Escalation
from apps.support.services.escalations import escalation_hand_back, escalation_resolve, escalation_take_over


def _active_escalation(conversation: Conversation) -> Escalation | None:
    return (
        Escalation.objects.filter(conversation=conversation, status__in=ACTIVE_ESCALATION_STATUSES)
        .order_by("-id")
        .first()
    )


def _say(conversation: Conversation, text: str, event: str, **data: Any) -> None:
    """The system line the customer sees when the support desk takes, hands back or closes their chat."""
    services.message_create(
        conversation=conversation, role=MessageRole.SYSTEM, text=text, agent="human", data={"event": event, **data}
    )


@transaction.atomic
def chat_take_over(*, conversation: Conversation, staff: Any) -> None:
    escalation = _active_escalation(conversation)
    if escalation is None:
        services.conversation_takeover(conversation=conversation, staff=staff)
        return
    already = escalation.taken_by_id == staff.pk
    escalation_take_over(escalation=escalation, staff_user=staff)
    if not already:
        _say(conversation, f"{services._staff_name(staff)} from the support team has joined the chat.", "taken_over")


@transaction.atomic
def chat_hand_back(*, conversation: Conversation, staff: Any) -> None:
    escalation = _active_escalation(conversation)
    if escalation is None:
        services.conversation_hand_back(conversation=conversation, staff=staff)
        return
    escalation_hand_back(escalation=escalation, staff_user=staff)
    _say(conversation, "You are chatting with the assistant again.", "handed_back")


@transaction.atomic
def chat_close(*, conversation: Conversation, staff: Any, resolution_code: str) -> None:
    escalation = _active_escalation(conversation)
    if escalation is None:
        services.conversation_close(conversation=conversation, staff=staff, resolution_code=resolution_code)
        return
    if resolution_code not in settings.CHAT_RESOLUTION_CODES:
        raise ApplicationError("Unknown resolution code.", code="invalid_resolution_code")
    escalation_resolve(escalation=escalation, staff_user=staff, resolution_code=resolution_code)
    conversation.refresh_from_db()
    _say(conversation, "This conversation has been closed. How did we do?", "closed", csat=True)
    events.push_on_commit(conversation, "closed", resolution_code=resolution_code, csat=True)
