"""WebSocket interface of the customer's chat (`/ws/chat/`); the staff console's is `apps.support.consumers`.

Thin: authenticate, validate a frame, call one service or selector in a
thread (`database_sync_to_async`), relay group events. The protocol is in
docs/chat-protocol.md; error codes are stable.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.consumer import get_handler_name
from channels.db import DatabaseSyncToAsync
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from apps.conversations import events, identity, ratelimits, selectors, services
from apps.conversations.identity import ChatIdentity
from apps.conversations.models import Channel, Conversation, ConversationStatus
from apps.core.errors import ApplicationError

logger = logging.getLogger(__name__)

CLOSE_SESSION_ENDED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_LARGE = 1009
CLOSE_TOO_MANY = 4429
# Frames are flat objects; anything nested deeper is refused before a handler sees it.
MAX_FRAME_DEPTH = 16
SOCKET_SEEN_EVERY_SECONDS = 60.0


def database_sync_to_async(func: Any) -> Any:
    """Each frame's database work in the thread pool, not the single thread-sensitive thread.

    Every call is self-contained (its own queries and transaction), so it needs no thread affinity;
    with the default thread-sensitive mode all sockets of a process would queue behind one thread.
    """
    return DatabaseSyncToAsync(func, thread_sensitive=False)


def session_group(session_key: str) -> str:
    """Sockets opened with one browser session; logging out ends them at once."""
    return "chat.session." + hashlib.sha256(session_key.encode()).hexdigest()[:40]


# --- database work, one call per frame --------------------------------------
@database_sync_to_async
def _resolve(session: Any, identity_token: str) -> ChatIdentity:
    return identity.identity_resolve(session=session, identity_token=identity_token)


@database_sync_to_async
def _recheck(bound: ChatIdentity, identity_token: str) -> ChatIdentity | None:
    return identity.identity_recheck(bound=bound, identity_token=identity_token)


@database_sync_to_async
def _open_conversation(ident: ChatIdentity, public_id: str | None, access: str) -> Conversation | None:
    if public_id:
        return selectors.conversation_get_for_identity(identity=ident, public_id=public_id, access_key=access)
    return selectors.conversation_latest_for_identity(identity=ident)


@database_sync_to_async
def _start(ident: ChatIdentity, channel: str, client_ip: str, limits: dict[str, str] | None = None) -> Conversation:
    if limits is not None:  # a first message's own limits count first: refused, it starts nothing
        ratelimits.check_message(**limits)
    ratelimits.check_conversation_start(ip=client_ip)
    return services.conversation_start(
        customer=ident.customer,
        verified_order=ident.verified_order,
        session_key=ident.session_key,
        channel=channel,
        client_ip=client_ip,
    )


def _ready(conversation: Conversation, ident: ChatIdentity, last_seq: int = 0, feedback: Any = None) -> dict[str, Any]:
    """The ready frame; without `last_seq` and `feedback`, that of a conversation with nothing stored yet."""
    return {
        "type": "ready",
        "conversation": str(conversation.public_id),
        "access": identity.access_key_for(conversation),
        "status": conversation.status,
        "identity": ident.describe(),
        "last_seq": last_seq,
        "csat_pending": conversation.status == ConversationStatus.CLOSED and conversation.csat_score is None,
        "feedback": {str(k): v for k, v in (feedback or {}).items()},
    }


@database_sync_to_async
def _ready_payload(conversation: Conversation, ident: ChatIdentity) -> dict[str, Any]:
    conversation.refresh_from_db()
    last = conversation.messages.order_by("-seq").values_list("seq", flat=True).first() or 0
    return _ready(conversation, ident, last, selectors.feedback_by_message(conversation=conversation))


@database_sync_to_async
def _messages_after(conversation: Conversation, seq: int) -> list[dict[str, Any]]:
    return [events.message_payload(m) for m in selectors.messages_after(conversation=conversation, seq=seq)]


@database_sync_to_async
def _messages_between(conversation: Conversation, after: int, upto: int) -> list[dict[str, Any]]:
    msgs = selectors.messages_between(conversation=conversation, after=after, upto=upto)
    return [events.message_payload(m) for m in msgs]


@database_sync_to_async
def _accept(
    conversation: Conversation, text: str, client_id: str, limits: dict[str, str] | None = None
) -> tuple[dict[str, Any], bool]:
    """The message stored (`message_accept_customer` re-reads the conversation), after its rate limits when given:
    one thread hop for both."""
    if limits is not None:
        ratelimits.check_message(**limits)
    message, created = services.message_accept_customer(
        conversation=conversation, text=text, client_message_id=client_id
    )
    return {"id": message.pk, "seq": message.seq}, created


@database_sync_to_async
def _verify(session: Any, conversation: Conversation, number: str, email: str) -> Any:
    order = identity.guest_verify(session=session, order_number=number, email=email)
    services.conversation_bind_verified_order(conversation=conversation, order=order)
    return order


@database_sync_to_async
def _feedback(conversation: Conversation, message_id: Any, rating: str) -> None:
    services.feedback_record(conversation=conversation, message_id=int(message_id), rating=str(rating))


@database_sync_to_async
def _csat(conversation: Conversation, score: Any, comment: str) -> None:
    conversation.refresh_from_db()
    services.conversation_rate(conversation=conversation, score=score, comment=comment)


# Redis only (no database): a plain worker thread each.
_check_verify = sync_to_async(ratelimits.check_verify, thread_sensitive=False)
_socket_open = sync_to_async(ratelimits.socket_open, thread_sensitive=False)
_socket_seen = sync_to_async(ratelimits.socket_seen, thread_sensitive=False)
_socket_close = sync_to_async(ratelimits.socket_close, thread_sensitive=False)


def frame_problem(content: Any) -> str:
    """'' for a well-formed frame, else an error code: too deep, or text PostgreSQL cannot store."""
    stack: list[tuple[Any, int]] = [(content, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_FRAME_DEPTH:
            return "bad_json"
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for pair in value.items() for item in pair)
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str) and ("\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value)):
            return "invalid_text"
    return ""


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """One customer's socket. The first frame must be `hello`."""

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Channels' dispatch without its `close_old_connections` per event.

        That call hops to the one thread-sensitive thread for every frame and every relayed
        event (each text delta); here all database work runs in `database_sync_to_async`
        calls, which close old connections themselves, before and after.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def connect(self) -> None:
        self.ident: ChatIdentity | None = None
        self.identity_token = ""
        self.conversation: Conversation | None = None
        self.channel_kind = Channel.WEB
        self.last_seq = 0
        self.groups_joined: list[str] = []
        self.client_ip = ratelimits.client_ip_from_scope(self.scope)
        self.slot_taken = False
        self.slot_seen_at = time.monotonic()
        # Sockets per address: the slot is taken before the handshake completes, so sockets opened one after
        # the other count in that order; a refused one is still accepted, to carry a reason the page can show.
        self.slot_taken = await _socket_open(ip=self.client_ip, socket_name=self.channel_name)
        await self.accept()
        if not self.slot_taken:
            await self.error("rate_limited", "Too many connections from your network. Try again in a minute.")
            await self.close(code=CLOSE_TOO_MANY)
            return
        session = self.scope.get("session")
        if session is not None and session.session_key:
            await self._join(session_group(session.session_key))

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        if getattr(self, "slot_taken", False):
            self.slot_taken = False
            await _socket_close(ip=self.client_ip, socket_name=self.channel_name)

    async def _join(self, group: str) -> None:
        if group not in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
            self.groups_joined.append(group)

    # --- frames in -----------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        raw = text_data if text_data is not None else (bytes_data or b"").decode("utf-8", "replace")
        if len(raw.encode("utf-8", "surrogatepass")) > settings.CHAT_MAX_FRAME_BYTES:
            await self.error("frame_too_large", f"Frames are limited to {settings.CHAT_MAX_FRAME_BYTES} bytes.")
            await self.close(code=CLOSE_TOO_LARGE)
            return
        if self.slot_taken and time.monotonic() - self.slot_seen_at > SOCKET_SEEN_EVERY_SECONDS:
            self.slot_seen_at = time.monotonic()
            await _socket_seen(ip=self.client_ip, socket_name=self.channel_name)
        try:
            content = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the decoder goes
            await self.error("bad_json", "Frames must be JSON objects.")
            return
        if not isinstance(content, dict):
            await self.error("bad_json", "Frames must be JSON objects.")
            return
        problem = frame_problem(content)
        if problem == "bad_json":
            await self.error("bad_json", "Frames must be flat JSON objects.")
            return
        if problem:
            await self.error(
                problem,
                "Messages cannot contain NUL characters or unpaired surrogates.",
                id=_str(content.get("id"), 65) or None,
            )
            return
        await self.receive_json(content)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        kind = content.get("type")
        try:
            if kind == "hello":
                await self.on_hello(content)
                return
            if self.ident is None:
                await self.error("hello_required", "Send a hello frame first.")
                return
            # The identity is re-checked on every frame: logging out or an expired token ends the chat.
            if self.ident.session_key or self.identity_token:
                current = await _recheck(self.ident, self.identity_token)
                if current is None:
                    await self.end_session("Your session has ended. Sign in again to keep chatting.")
                    return
                self.ident = current
            # else a guest without cookie or token: nothing it rests on can change, so nothing to re-read
            handler = {
                "message": self.on_message,
                "verify": self.on_verify,
                "feedback": self.on_feedback,
                "csat": self.on_csat,
                "start": self.on_start,
                "ping": self.on_ping,
            }.get(str(kind))
            if handler is None:
                await self.error("unknown_type", "Unknown frame type.")
                return
            await handler(content)
        except ApplicationError as exc:
            # `busy` (the turn queue is full) says when to send the same frame again: the page does so itself.
            retry = {"retry_after": exc.extra["retry_after"]} if "retry_after" in exc.extra else {}
            await self.error(exc.code, exc.message, id=content.get("id"), **retry)
        except Exception:
            logger.exception("chat frame failed")
            await self.error(
                "server_error", "Something went wrong on our side. Please try again.", id=content.get("id")
            )

    async def on_hello(self, content: dict[str, Any]) -> None:
        if self.ident is not None:
            await self.error("already_ready", "This connection is already set up.")
            return
        self.identity_token = _str(content.get("identity_token"), 300)
        channel = _str(content.get("channel"), 10) or Channel.WEB
        self.channel_kind = channel if channel in (Channel.WEB, Channel.WIDGET) else Channel.WEB
        try:
            ident = await _resolve(self.scope.get("session"), self.identity_token)
        except ApplicationError as exc:
            await self.error(exc.code, exc.message)
            await self.close(code=CLOSE_SESSION_ENDED)
            return
        try:
            conversation = await _open_conversation(
                ident, _str(content.get("conversation"), 64) or None, _str(content.get("access"), 200)
            )
        except ApplicationError as exc:
            await self.error(exc.code, exc.message)
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.ident = ident
        try:
            self.last_seq = max(int(content.get("last_seq") or 0), 0)
        except (TypeError, ValueError):
            self.last_seq = 0
        if conversation is None:
            await self.send_json(
                {"type": "ready", "conversation": None, "status": "new", "identity": ident.describe(), "last_seq": 0}
            )
            return
        await self.attach(conversation)

    async def attach(self, conversation: Conversation, *, started: bool = False) -> None:
        """Subscribe, say ready, then replay what the client has not seen (in order, once). One this socket has just
        `started` has nothing stored: no read, nothing to replay (`send_message` fills any gap from the database)."""
        self.conversation = conversation
        await self._join(events.conversation_group(conversation.public_id))
        if started:
            await self.send_json(_ready(conversation, self.ident))
            return
        await self.send_json(await _ready_payload(conversation, self.ident))
        for payload in await _messages_after(conversation, self.last_seq):
            await self.send_message(payload)

    async def ensure_conversation(self, limits: dict[str, str] | None = None) -> Conversation:
        if self.conversation is None:
            await self.attach(await _start(self.ident, self.channel_kind, self.client_ip, limits), started=True)
        return self.conversation

    async def on_message(self, content: dict[str, Any]) -> None:
        client_id = _str(content.get("id"), 65)
        text = content.get("text")
        if not isinstance(text, str):
            raise ApplicationError("Message text must be a string.", code="empty_message")
        subject = self.ident.actor_key or (
            f"conversation:{self.conversation.public_id}" if self.conversation else f"connection:{self.channel_name}"
        )
        limits = {"ip": self.client_ip, "actor": subject, "connection": self.channel_name}
        if self.conversation is None:  # the limits counted as it starts
            stored, created = await _accept(await self.ensure_conversation(limits), text, client_id)
        else:
            stored, created = await _accept(self.conversation, text, client_id, limits)
        await self.send_json({"type": "accepted", "id": client_id, "duplicate": not created, "message": stored})

    async def on_start(self, content: dict[str, Any]) -> None:
        """Start the conversation before any message (to attach a photo first); `ready` answers either way."""
        if self.conversation is not None:
            await self.send_json(await _ready_payload(self.conversation, self.ident))
            return
        await self.ensure_conversation()

    async def on_verify(self, content: dict[str, Any]) -> None:
        if self.ident.customer is not None:
            raise ApplicationError("You are signed in already.", code="already_signed_in")
        number, email = _str(content.get("order_number"), 40), _str(content.get("email"), 254)
        # Per session (else socket), per address, per order number and per email: new sockets without
        # cookies still meet the address, order and email counters.
        await _check_verify(
            ip=self.client_ip, actor=self.ident.session_key or self.channel_name, order_number=number, email=email
        )
        conversation = await self.ensure_conversation()
        session = self.scope.get("session")
        order = await _verify(
            session if session is not None and session.session_key else None, conversation, number, email
        )
        self.ident = ChatIdentity(**{**self.ident.__dict__, "verified_order": order})
        await self.send_json({"type": "verified", "order": order.number})

    async def on_feedback(self, content: dict[str, Any]) -> None:
        if self.conversation is None:
            raise ApplicationError("No conversation yet.", code="not_found")
        try:
            message_id = int(content.get("message"))
        except (TypeError, ValueError):
            raise ApplicationError("Which answer?", code="not_found") from None
        await _feedback(self.conversation, message_id, _str(content.get("rating"), 8))
        await self.send_json({"type": "feedback_saved", "message": message_id, "rating": content.get("rating")})

    async def on_csat(self, content: dict[str, Any]) -> None:
        if self.conversation is None:
            raise ApplicationError("No conversation yet.", code="not_found")
        await _csat(self.conversation, content.get("score"), _str(content.get("comment"), 2000))
        await self.send_json({"type": "csat_saved", "score": content.get("score")})

    async def on_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    # --- events out ----------------------------------------------------------
    async def error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})

    async def end_session(self, message: str) -> None:
        await self.send_json({"type": "session_ended", "code": "session_ended", "message": message})
        self.ident = None
        await self.close(code=CLOSE_SESSION_ENDED)

    async def send_message(self, payload: dict[str, Any]) -> None:
        """Stored messages go out once each and in seq order, filling any gap from the database."""
        seq = payload["seq"]
        if seq <= self.last_seq:
            return
        if seq > self.last_seq + 1 and self.conversation is not None:
            for missed in await _messages_between(self.conversation, self.last_seq, seq - 1):
                await self.send_json({"type": "message", "message": missed})
                self.last_seq = missed["seq"]
        await self.send_json({"type": "message", "message": payload})
        self.last_seq = seq

    async def chat_event(self, event: dict[str, Any]) -> None:
        """A group event from a service or the agent turn (see apps.conversations.events)."""
        if self.ident is None:
            return
        name = event.get("event")
        if name == "message":
            await self.send_message(event["message"])
            return
        body = {k: v for k, v in event.items() if k not in ("type", "event")}
        await self.send_json({"type": name, **body})

    async def layer_reconnected(self, event: dict[str, Any]) -> None:
        """This process's subscription to the channel layer was lost and is back (apps.core.channel_layer):
        events published meanwhile are gone, so the stored messages after the last one sent come from the
        database (once each, in order, as `send_message` keeps them)."""
        if self.ident is None or self.conversation is None:
            return
        for payload in await _messages_after(self.conversation, self.last_seq):
            await self.send_message(payload)

    async def session_ended(self, event: dict[str, Any]) -> None:
        """The browser session logged out (see views.logout)."""
        await self.end_session("You signed out. Sign in again to keep chatting.")


def _str(value: Any, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""
