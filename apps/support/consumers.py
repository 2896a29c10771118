"""WebSocket interface of the staff console (`/ws/console/`): the live queue and the watched conversation.

Thin: check the staff member may work the console (on connect and on every frame), relay the
`staff.console` group (queue changes) and the watched conversation's group (messages, deltas). A stored
message goes out with its transcript entry rendered by the same partial as the page
(`support/_console_message.html`): formatted replies and photos look the same live as after a reload.
"""

from __future__ import annotations

from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.conversations import events
from apps.conversations import selectors as conversation_selectors
from apps.conversations.consumers import (
    CLOSE_FORBIDDEN,
    CLOSE_SESSION_ENDED,
    database_sync_to_async,
    session_group,
)
from apps.conversations.models import Conversation
from apps.support.services.console import CONSOLE_PERMISSION


def _str(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""


@database_sync_to_async
def _staff_allowed(user_id: int | None) -> bool:
    from django.contrib.auth import get_user_model

    if user_id is None:
        return False
    user = get_user_model().objects.filter(pk=user_id, is_active=True, is_staff=True).first()
    return bool(user and user.has_perm(CONSOLE_PERMISSION))


@database_sync_to_async
def _conversation_exists(public_id: str) -> bool:
    import uuid

    try:
        uuid.UUID(public_id)
    except ValueError:
        return False
    return Conversation.objects.filter(public_id=public_id).exists()


@database_sync_to_async
def _message_entry(user_id: int, public_id: str, message_id: Any) -> str:
    """The transcript entry of one stored message, as the console page renders it ('' if it is gone)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.context_processors import PermWrapper
    from django.template.loader import render_to_string

    conversation = Conversation.objects.filter(public_id=public_id).first()
    user = get_user_model().objects.filter(pk=user_id).first()
    if conversation is None or user is None or not isinstance(message_id, int):
        return ""
    row = conversation_selectors.transcript_row(conversation=conversation, message_id=message_id)
    if row is None:
        return ""
    context = {"m": row["message"], "row": row, "conversation": conversation, "perms": PermWrapper(user)}
    return render_to_string("support/_console_message.html", context)


class ConsoleConsumer(AsyncJsonWebsocketConsumer):
    """Live queue and the watched conversation for staff who may take over chats."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.user_id = user.pk if user is not None and user.is_authenticated else None
        self.watching: str | None = None
        if not await _staff_allowed(self.user_id):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(events.STAFF_GROUP, self.channel_name)
        session = self.scope.get("session")
        self.session_group = session_group(session.session_key) if session is not None and session.session_key else ""
        if self.session_group:
            await self.channel_layer.group_add(self.session_group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(events.STAFF_GROUP, self.channel_name)
        if getattr(self, "session_group", ""):
            await self.channel_layer.group_discard(self.session_group, self.channel_name)
        if self.watching:
            await self.channel_layer.group_discard(events.conversation_group(self.watching), self.channel_name)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        if not await _staff_allowed(self.user_id):
            await self.send_json({"type": "session_ended", "code": "session_ended", "message": "Not allowed."})
            await self.close(code=CLOSE_SESSION_ENDED)
            return
        if content.get("type") == "watch":
            public_id = _str(content.get("conversation"), 64)
            if not await _conversation_exists(public_id):
                await self.send_json({"type": "error", "code": "not_found", "message": "No such conversation."})
                return
            if self.watching:
                await self.channel_layer.group_discard(events.conversation_group(self.watching), self.channel_name)
            self.watching = public_id
            await self.channel_layer.group_add(events.conversation_group(public_id), self.channel_name)
            await self.send_json({"type": "watching", "conversation": public_id})
        elif content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "code": "unknown_type", "message": "Unknown frame type."})

    async def staff_event(self, event: dict[str, Any]) -> None:
        await self.send_json({"type": "queue", **{k: v for k, v in event.items() if k != "type"}})

    async def chat_event(self, event: dict[str, Any]) -> None:
        body = {k: v for k, v in event.items() if k not in ("type", "event")}
        if event["event"] == "message" and self.watching:
            body["entry"] = await _message_entry(self.user_id, self.watching, event["message"].get("id"))
        await self.send_json({"type": "conversation", "conversation": self.watching, "event": event["event"], **body})

    async def layer_reconnected(self, event: dict[str, Any]) -> None:
        """Queue events published while this process's channel-layer subscription was down are gone: the page
        reloads its queue (as on any `queue` event)."""
        await self.send_json({"type": "queue", "event": "resync"})

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The staff member signed out: the live queue stops at once."""
        await self.send_json({"type": "session_ended", "code": "session_ended", "message": "You signed out."})
        await self.close(code=CLOSE_SESSION_ENDED)
