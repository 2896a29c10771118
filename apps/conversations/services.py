"""Writes on conversations and messages.

`message_accept_customer` is the one way a customer message enters the system:
idempotent on the client's message id, it stores the message and (after
commit) queues the bot's turn (`apps.agents.turn_queue`) unless a human has the conversation.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.agents import turn_queue
from apps.conversations import events, selectors
from apps.conversations.models import (
    Attachment,
    Channel,
    Conversation,
    ConversationEvent,
    ConversationStatus,
    Feedback,
    FeedbackRating,
    Message,
    MessageRole,
    MessageStatus,
    ReplyFlag,
)
from apps.conversations.rendering import render_markdown
from apps.conversations.waiting import waiting_reply
from apps.core.errors import ApplicationError, NotFound
from apps.core.fixed_sql import model_insert

MAX_MESSAGE_CHARS = 4000


_NEXT_SEQ_SQL = (
    f"UPDATE {Conversation._meta.db_table} SET last_message_at = %s, last_seq = GREATEST(last_seq, "  # noqa: S608
    f"(SELECT coalesce(max(m.seq), 0) FROM {Message._meta.db_table} m WHERE m.conversation_id = %s)) + 1 "
    "WHERE id = %s RETURNING last_seq"
)


# The seq counted on the conversation's row (which also records the message's time as its last message's) and the
# row inserted with it, in one statement: the UPDATE's row lock serialises writers of one conversation until commit, so
# seq never repeats (was a SELECT ... FOR UPDATE, a MAX(seq) and an UPDATE of last_message_at; then the UPDATE and the
# ORM's INSERT, whose compile cost more CPU than both statements). The max over the conversation's messages (the
# unique index's last entry) covers rows stored without the counter.
_WITH_SEQ, _SEQ = f"s AS ({_NEXT_SEQ_SQL})", (("seq", "(SELECT last_seq FROM s)"),)


def message_store(
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
    """Store a message with the next seq and push it to open sockets after commit. The caller holds a transaction
    (`message_create` opens one): its seq UPDATE holds the conversation's row until commit, and in a caller's own
    transaction `message_create`'s savepoint is two round trips for nothing."""
    now = timezone.now()
    message = Message(
        conversation=conversation,
        role=role,
        text=text,
        html="" if role == MessageRole.CUSTOMER else render_markdown(text),
        agent=agent,
        citations=citations or [],
        data=data or {},
        in_reply_to=in_reply_to,
        author=author,
        client_message_id=client_message_id,
        status=status,
    )
    model_insert(message, with_sql=_WITH_SEQ, with_params=[now, conversation.pk, conversation.pk], computed=_SEQ)
    events.push_message_on_commit(message)
    return message


message_create = transaction.atomic(message_store)  # in a transaction of its own, or a savepoint in the caller's


@transaction.atomic
def waiting_acknowledge(*, conversation: Conversation, message: Message, now: datetime | None = None) -> Message:
    """The system's answer to a customer message while the conversation waits for a person (`waiting_reply`)."""
    text, data = waiting_reply(conversation=conversation, message=message, now=now)
    return message_create(conversation=conversation, role=MessageRole.SYSTEM, text=text, agent="queue", data=data)


def message_accept_customer(*, conversation: Conversation, text: str, client_message_id: str) -> tuple[Message, bool]:
    """Store a customer's message once; return (message, created).

    A resent message (same client id) returns the stored one and enqueues nothing. While the turn queue is
    full a new message is refused with `busy` (`ApplicationError.extra["retry_after"]`) and nothing is stored.
    """
    text = (text or "").strip()
    if not text:
        raise ApplicationError("Message is empty.", code="empty_message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ApplicationError(f"Message is longer than {MAX_MESSAGE_CHARS} characters.", code="message_too_long")
    if not client_message_id or len(client_message_id) > 64:
        raise ApplicationError("A client message id (1-64 characters) is required.", code="invalid_client_id")
    existing_id = selectors.conversation_reread(conversation=conversation, client_message_id=client_message_id)
    if conversation.status == ConversationStatus.CLOSED:
        raise ApplicationError("This conversation is closed; start a new one.", code="conversation_closed")
    if existing_id is not None:
        return Message.objects.get(pk=existing_id), False
    for_bot = not conversation.bot_paused
    if for_bot:
        # Back-pressure before anything is stored: a refused message is sent again by the client (same id).
        turn_queue.turn_queue_admit()
    # Nothing can attach a photo to the message unless a caller's transaction is around this one
    # (`attachment_create`): then the message pushed at commit needs no query for its attachments.
    alone = not transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic():
            message = message_store(
                conversation=conversation,
                role=MessageRole.CUSTOMER,
                text=text,
                client_message_id=client_message_id,
                status=MessageStatus.RECEIVED if for_bot else MessageStatus.SKIPPED,
            )
            if alone:
                message._prefetched_objects_cache = {"attachments": Attachment.objects.none()}
            if for_bot:
                transaction.on_commit(lambda: turn_queue.turn_enqueue(message_id=message.pk))
            else:
                events.push_staff_on_commit("customer_message", conversation=str(conversation.public_id))
                if conversation.status == ConversationStatus.WAITING_HUMAN:
                    waiting_acknowledge(conversation=conversation, message=message)
    except IntegrityError:
        # Two sockets raced on the same client id: the first one won.
        return conversation.messages.get(client_message_id=client_message_id), False
    return message, True


# The one writer of a conversation's state. Staff actions below and the support desk's escalations
# (apps.support.services.escalations) change status, holder and resolution only through
# `conversation_state_set`; the agent runtime records its topic and summary through the other two.
_KEEP: Any = object()


def conversation_state_set(
    *, conversation: Conversation, status: str, assigned_to: Any = _KEEP, resolution_code: str | None = None
) -> Conversation:
    """Set the status (and the staff member holding it, and the resolution when closing); saved at once.

    Closing stamps `closed_at`. Callers lock the row and validate the transition (and audit it) first.
    """
    if status not in ConversationStatus.values:
        raise ApplicationError("Unknown conversation status.", code="invalid_status")
    fields = ["status", "updated_at"]
    conversation.status = status
    if assigned_to is not _KEEP:
        conversation.assigned_to = assigned_to
        fields.append("assigned_to")
    if status == ConversationStatus.CLOSED:
        conversation.closed_at = timezone.now()
        fields.append("closed_at")
        if resolution_code is not None:
            conversation.resolution_code = resolution_code
            fields.append("resolution_code")
    conversation.save(update_fields=fields)
    return conversation


def conversation_route_set(*, conversation: Conversation, route: str, confidence: float | None) -> None:
    """The conversation's current topic (sticky routing); `route=""` hands it back to the router.

    Every bot turn writes it: the ORM's `.update()` as SQL, without its compile (issue 14)."""
    with connection.cursor() as cursor:
        cursor.execute(_ROUTE_SET_SQL, [route, confidence, conversation.pk])


_ROUTE_SET_SQL = f"UPDATE {Conversation._meta.db_table} SET current_route = %s, route_confidence = %s WHERE id = %s"  # noqa: S608


def conversation_summary_set(*, conversation: Conversation, summary: str) -> None:
    """The folded summary of messages that left the model's history window."""
    Conversation.objects.filter(pk=conversation.pk).update(summary=summary)
    conversation.summary = summary


# --- conversations: start, identity, status ----------------------------------
def _audit(conversation: Conversation, action: str, *, actor: Any = None, **data: Any) -> None:
    ConversationEvent.objects.create(conversation=conversation, actor=actor, action=action, data=data)


@transaction.atomic
def conversation_start(
    *,
    customer: Any = None,
    verified_order: Any = None,
    session_key: str = "",
    channel: str = Channel.WEB,
    client_ip: str = "",
) -> Conversation:
    """A new conversation bound to the identity that starts it (never changed by the model)."""
    if channel not in Channel.values:
        raise ApplicationError("Unknown channel.", code="invalid_channel")
    conversation = Conversation(
        customer=customer,
        verified_order=verified_order,
        session_key=session_key or "",
        channel=channel,
        client_ip=_ip_or_none(client_ip),
    )
    conversation.full_clean()
    conversation.save()
    _audit(conversation, "started", channel=channel, identity="customer" if customer else "guest")
    return conversation


def _ip_or_none(value: str) -> str | None:
    """The starting address when it is one (a Unix-socket peer or a test scope has none)."""
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


@transaction.atomic
def conversation_bind_verified_order(*, conversation: Conversation, order: Any) -> Conversation:
    """A guest proved they own `order`: from now on this conversation may see that order (only)."""
    if conversation.customer_id is not None and conversation.customer_id != order.customer_id:
        raise ApplicationError("This order belongs to someone else.", code="verification_failed")
    if conversation.verified_order_id == order.pk:
        return conversation
    conversation.verified_order = order
    conversation.save(update_fields=["verified_order", "updated_at"])
    _audit(conversation, "guest_verified", order=order.number)
    return conversation


def _set_status(conversation: Conversation, status: str, *, actor: Any, action: str, **data: Any) -> Conversation:
    old = conversation.status
    conversation.status = status
    conversation.save(update_fields=["status", "assigned_to", "resolution_code", "closed_at", "updated_at"])
    _audit(conversation, action, actor=actor, old=old, new=status, **data)
    public_id = str(conversation.public_id)
    events.push_on_commit(conversation, "handoff", status=status, agent=_staff_name(actor) if actor else "")
    events.push_staff_on_commit("conversation_status", conversation=public_id, status=status)
    return conversation


def _staff_name(user: Any) -> str:
    return (user.first_name or user.username) if user is not None else ""


def _locked(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update().get(pk=conversation.pk)


@transaction.atomic
def conversation_takeover(*, conversation: Conversation, staff: Any) -> Conversation:
    """A staff member takes the conversation: the bot pauses until they hand it back."""
    conversation = _locked(conversation)
    if conversation.status == ConversationStatus.CLOSED:
        raise ApplicationError("This conversation is closed.", code="conversation_closed")
    if conversation.status == ConversationStatus.HUMAN and conversation.assigned_to_id not in (None, staff.pk):
        raise ApplicationError("Someone else has taken this conversation.", code="already_taken")
    if conversation.status == ConversationStatus.HUMAN and conversation.assigned_to_id == staff.pk:
        return conversation
    conversation.assigned_to = staff
    _set_status(conversation, ConversationStatus.HUMAN, actor=staff, action="taken_over")
    message_create(
        conversation=conversation,
        role=MessageRole.SYSTEM,
        text=f"{_staff_name(staff)} from the support team has joined the chat.",
        agent="human",
        data={"event": "taken_over"},
    )
    return conversation


def _require_holder(conversation: Conversation, staff: Any) -> None:
    if conversation.status != ConversationStatus.HUMAN:
        raise ApplicationError("Take the conversation over first.", code="not_taken_over")
    if conversation.assigned_to_id != staff.pk:
        raise ApplicationError("Someone else has taken this conversation.", code="already_taken")


@transaction.atomic
def message_create_staff(*, conversation: Conversation, staff: Any, text: str, client_message_id: str = "") -> Message:
    """A staff reply, live to the customer. Only the staff member holding the conversation may write."""
    conversation = _locked(conversation)
    _require_holder(conversation, staff)
    text = (text or "").strip()
    if not text:
        raise ApplicationError("Message is empty.", code="empty_message")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ApplicationError(f"Message is longer than {MAX_MESSAGE_CHARS} characters.", code="message_too_long")
    if client_message_id:
        existing = conversation.messages.filter(client_message_id=client_message_id).first()
        if existing is not None:
            return existing
    return message_create(
        conversation=conversation,
        role=MessageRole.STAFF,
        text=text,
        agent="human",
        author=staff,
        client_message_id=client_message_id,
    )


@transaction.atomic
def conversation_hand_back(*, conversation: Conversation, staff: Any) -> Conversation:
    """The bot answers again from the customer's next message."""
    conversation = _locked(conversation)
    if conversation.status not in (ConversationStatus.HUMAN, ConversationStatus.WAITING_HUMAN):
        raise ApplicationError("The bot already has this conversation.", code="not_taken_over")
    if conversation.status == ConversationStatus.HUMAN:
        _require_holder(conversation, staff)
    conversation.assigned_to = None
    _set_status(conversation, ConversationStatus.OPEN, actor=staff, action="handed_back")
    message_create(
        conversation=conversation,
        role=MessageRole.SYSTEM,
        text="You are chatting with the assistant again.",
        agent="human",
        data={"event": "handed_back"},
    )
    return conversation


@transaction.atomic
def conversation_close(*, conversation: Conversation, staff: Any, resolution_code: str) -> Conversation:
    """Close with a resolution code; the customer is then asked for a CSAT score."""
    from django.conf import settings

    if resolution_code not in settings.CHAT_RESOLUTION_CODES:
        raise ApplicationError("Unknown resolution code.", code="invalid_resolution_code")
    conversation = _locked(conversation)
    if conversation.status == ConversationStatus.CLOSED:
        raise ApplicationError("This conversation is closed.", code="conversation_closed")
    if conversation.status == ConversationStatus.HUMAN:
        _require_holder(conversation, staff)
    conversation.resolution_code = resolution_code
    conversation.closed_at = timezone.now()
    message_create(
        conversation=conversation,
        role=MessageRole.SYSTEM,
        text="This conversation has been closed. How did we do?",
        agent="human",
        data={"event": "closed", "csat": True},
    )
    _set_status(conversation, ConversationStatus.CLOSED, actor=staff, action="closed", resolution=resolution_code)
    events.push_on_commit(conversation, "closed", resolution_code=resolution_code, csat=True)
    return conversation


# --- feedback -------------------------------------------------------------------
@transaction.atomic
def feedback_record(*, conversation: Conversation, message_id: int, rating: str, comment: str = "") -> Feedback:
    """Thumbs up/down on one answer of this conversation; voting again changes the vote."""
    if rating not in FeedbackRating.values:
        raise ApplicationError("Rating must be 'up' or 'down'.", code="invalid_rating")
    message = conversation.messages.filter(pk=message_id, role__in=[MessageRole.ASSISTANT, MessageRole.STAFF]).first()
    if message is None:
        raise NotFound("No such answer in this conversation.")
    feedback, _ = Feedback.objects.update_or_create(
        message=message, defaults={"conversation": conversation, "rating": rating, "comment": (comment or "")[:2000]}
    )
    _audit(conversation, "feedback", message=message.pk, rating=rating)
    return feedback


@transaction.atomic
def conversation_rate(*, conversation: Conversation, score: int, comment: str = "") -> Conversation:
    """The CSAT answer (1-5), asked when the conversation closes; answering twice keeps the first."""
    if conversation.status != ConversationStatus.CLOSED:
        raise ApplicationError("You can rate the conversation once it is closed.", code="not_closed")
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise ApplicationError("Score must be a whole number from 1 to 5.", code="invalid_score")
    conversation = _locked(conversation)
    if conversation.csat_score is not None:
        raise ApplicationError("You already rated this conversation.", code="already_rated")
    conversation.csat_score = score
    conversation.csat_comment = (comment or "")[:2000]
    conversation.save(update_fields=["csat_score", "csat_comment", "updated_at"])
    _audit(conversation, "csat", score=score)
    return conversation


@transaction.atomic
def reply_flag_create(*, message: Message, operator: Any, note: str) -> ReplyFlag:
    """An operator marks a bot reply as wrong."""
    note = (note or "").strip()
    if not note:
        raise ApplicationError("Say what is wrong with the reply.", code="note_required")
    if message.role != MessageRole.ASSISTANT:
        raise ApplicationError("Only the assistant's replies can be flagged.", code="not_a_reply")
    flag = ReplyFlag.objects.create(conversation=message.conversation, message=message, flagged_by=operator, note=note)
    _audit(message.conversation, "reply_flagged", actor=operator, message=message.pk)
    return flag


# --- assignment ------------------------------------------------------------------
@transaction.atomic
def conversation_assign(*, conversation: Conversation, assignee: Any, actor: Any) -> Conversation:
    """Set who works a conversation (None: unassigned). Who may assign whom is the support desk's rule
    (`apps.support.services.console.console_assign`); this only writes, audits and pings the console."""
    conversation = _locked(conversation)
    if conversation.status == ConversationStatus.CLOSED:
        raise ApplicationError("This conversation is closed.", code="conversation_closed")
    if assignee is None and conversation.status == ConversationStatus.HUMAN:
        raise ApplicationError("Hand it back to the bot or assign it to someone.", code="holder_required")
    old = conversation.assigned_to_id
    if old == (assignee.pk if assignee is not None else None):
        return conversation
    conversation.assigned_to = assignee
    conversation.save(update_fields=["assigned_to", "updated_at"])
    _audit(conversation, "assigned", actor=actor, old=old, new=assignee.pk if assignee is not None else None)
    events.push_staff_on_commit(
        "conversation_assigned",
        conversation=str(conversation.public_id),
        assigned_to=assignee.get_username() if assignee is not None else "",
    )
    return conversation
