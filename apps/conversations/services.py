"""Writes on conversations and messages.

`message_accept_customer` is the one way a customer message enters the system:
idempotent on the client's message id, it stores the message and (after
commit) enqueues the bot's turn unless a human has the conversation.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from apps.conversations import events
from apps.conversations.models import Conversation, ConversationStatus, Message, MessageRole, MessageStatus
from apps.core.errors import ApplicationError

MAX_MESSAGE_CHARS = 4000


def _next_seq(conversation: Conversation) -> int:
    # The row lock serialises writers of one conversation so seq never repeats.
    Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
    last = conversation.messages.aggregate(m=Max("seq"))["m"] or 0
    return last + 1


@transaction.atomic
def message_create(
    *,
    conversation: Conversation,
    role: str,
    text: str,
    agent: str = "",
    citations: list[dict[str, Any]] | None = None,
    data: dict[str, Any] | None = None,
    in_reply_to: Message | None = None,
    author: Any = None,
    client_message_id: str = "",
    status: str = "",
) -> Message:
    """Store a message with the next seq and push it to open sockets after commit."""
    message = Message.objects.create(
        conversation=conversation,
        seq=_next_seq(conversation),
        role=role,
        text=text,
        agent=agent,
        citations=citations or [],
        data=data or {},
        in_reply_to=in_reply_to,
        author=author,
        client_message_id=client_message_id,
        status=status,
    )
    Conversation.objects.filter(pk=conversation.pk).update(last_message_at=message.created_at)
    events.push_message_on_commit(message)
    return message


def message_accept_customer(*, conversation: Conversation, text: str, client_message_id: str) -> tuple[Message, bool]:
    """Store a customer's message once; return (message, created).

    A resent message (same client id) returns the stored one and enqueues nothing.
    """
    text = (text or "").strip()
    if not text:
        raise ApplicationError("Message is empty.", code="empty_message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ApplicationError(f"Message is longer than {MAX_MESSAGE_CHARS} characters.", code="message_too_long")
    if not client_message_id or len(client_message_id) > 64:
        raise ApplicationError("A client message id (1-64 characters) is required.", code="invalid_client_id")
    if conversation.status == ConversationStatus.CLOSED:
        raise ApplicationError("This conversation is closed; start a new one.", code="conversation_closed")

    existing = conversation.messages.filter(client_message_id=client_message_id).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            for_bot = not conversation.bot_paused
            message = message_create(
                conversation=conversation,
                role=MessageRole.CUSTOMER,
                text=text,
                client_message_id=client_message_id,
                status=MessageStatus.RECEIVED if for_bot else MessageStatus.SKIPPED,
            )
            if for_bot:
                from apps.agents.tasks import run_turn

                transaction.on_commit(lambda: run_turn.delay(message.pk))
            else:
                events.push_staff_on_commit("customer_message", conversation=str(conversation.public_id))
    except IntegrityError:
        # Two sockets raced on the same client id: the first one won.
        return conversation.messages.get(client_message_id=client_message_id), False
    return message, True


def conversation_touch_status(*, conversation: Conversation, status: str) -> Conversation:
    conversation.status = status
    if status == ConversationStatus.CLOSED:
        conversation.closed_at = timezone.now()
    conversation.save(update_fields=["status", "closed_at", "updated_at"])
    return conversation
