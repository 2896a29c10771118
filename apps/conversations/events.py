"""Server events pushed to a conversation's open sockets, always after commit.

Every event goes to the channel-layer group `conversation.<public_id>`; the
chat consumer relays it to the browser as JSON (see docs/chat-protocol.md).
Text deltas are sent straight away (they are not stored); everything that is
stored (messages, outcomes) is pushed from `transaction.on_commit` so a client
never sees something that was rolled back.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from apps.conversations.attachment_links import attachment_url
from apps.conversations.models import Conversation, Message, MessageRole
from apps.conversations.rendering import source_labels
from apps.core.aio import use_thread_loop


def conversation_group(public_id: object) -> str:
    return f"conversation.{public_id}"


STAFF_GROUP = "staff.console"


def _send(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is not None:
        use_thread_loop()  # no new thread, loop and Redis connection per event (apps.core.aio)
        async_to_sync(layer.group_send)(group, event)


def send_to_group(group: str, event: dict[str, Any]) -> None:
    """One event to a channel-layer group, from sync code."""
    _send(group, event)


def message_payload(message: Message) -> dict[str, Any]:
    return {
        "id": message.pk,
        "seq": message.seq,
        "role": message.role,
        "text": message.text,
        "html": message.html,
        "agent": message.agent,
        "citations": message.citations,
        "sources": source_labels(message.text, message.citations),
        "client_message_id": message.client_message_id or None,
        "in_reply_to": message.in_reply_to_id,
        "created_at": message.created_at.isoformat(),
        "data": message.data,
        "attachments": _attachments(message),
    }


def _attachments(message: Message) -> list[dict[str, Any]]:
    # Only customers attach photos: other messages need no query (and are pushed from async code too).
    if message.role != MessageRole.CUSTOMER or message.pk is None:
        return []
    return [attachment_payload(a) for a in message.attachments.all()]


def attachment_payload(attachment: Any) -> dict[str, Any]:
    return {
        "id": str(attachment.public_id),
        "content_type": attachment.content_type,
        "name": attachment.original_name,
        "size": attachment.size,
        "width": attachment.width,
        "height": attachment.height,
        "url": attachment_url(attachment),
    }


def push_now(conversation: Conversation, event_type: str, **payload: Any) -> None:
    """Send an event that is not stored (typing, text deltas). Use sparingly."""
    _send(conversation_group(conversation.public_id), {"type": "chat.event", "event": event_type, **payload})


def push_on_commit(conversation: Conversation, event_type: str, **payload: Any) -> None:
    group = conversation_group(conversation.public_id)
    event = {"type": "chat.event", "event": event_type, **payload}
    transaction.on_commit(lambda: _send(group, event))


def push_message_on_commit(message: Message) -> None:
    """A stored message (customer, assistant, staff or system) for every open socket."""
    group = conversation_group(message.conversation.public_id)
    # The payload is built at commit, so whatever the same transaction attached to the message goes with it.
    transaction.on_commit(
        lambda: _send(group, {"type": "chat.event", "event": "message", "message": message_payload(message)})
    )


def push_staff_on_commit(event_type: str, **payload: Any) -> None:
    """Update the staff console's live list (escalations, waiting conversations)."""
    event = {"type": "staff.event", "event": event_type, **payload}
    transaction.on_commit(lambda: _send(STAFF_GROUP, event))
