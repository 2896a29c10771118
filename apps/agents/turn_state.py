"""What a turn reads under its conversation's lock: the lock itself, the customer's message with its conversation,
and the state that decides whether the message still needs an answer (`apps.agents.turns`).

The two reads every turn makes are written as SQL (apps.core.fixed_sql): the ORM's compile of each took 1.5-2 ms of
CPU, against about 0.1 ms for the statement through a cursor (issue 14).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection

from apps.conversations.models import Conversation, Message, MessageRole, MessageStatus
from apps.core.fixed_sql import model_columns, model_from_row


# -- locking --------------------------------------------------------------------
@contextmanager
def conversation_lock(conversation_id: int) -> Iterator[None]:
    """A session-level PostgreSQL advisory lock: turns of one conversation run one at a time,
    and a redelivered message waits for the first delivery, then finds it answered."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_NAMESPACE, conversation_id])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, conversation_id])


LOCK_NAMESPACE = 0x5B01  # "switchboard turns": keeps our keys apart from other advisory locks


def fresh_state(message: Message) -> dict[str, Any] | None:
    """After the lock, in one statement: the message's status, whether it has a reply, whether an earlier customer
    message of the conversation still waits for the bot, and what of the conversation can change between turns
    (the customer and verified order are fixed by then). Written as SQL (apps.core.fixed_sql): every turn runs it."""
    with connection.cursor() as cursor:
        cursor.execute(
            _FRESH_STATE_SQL, [MessageRole.ASSISTANT, MessageRole.CUSTOMER, MessageStatus.RECEIVED, message.pk]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    names = ("status", "replied", "earlier_waiting", *(f"conversation__{f}" for f in _FRESH_CONVERSATION_FIELDS))
    return dict(zip(names, row, strict=True))


_FRESH_STATE_SQL = (
    f"SELECT m.status, "  # noqa: S608 - constant table names, bound values
    f"EXISTS (SELECT 1 FROM {Message._meta.db_table} r WHERE r.in_reply_to_id = m.id AND r.role = %s), "
    f"EXISTS (SELECT 1 FROM {Message._meta.db_table} e WHERE e.conversation_id = m.conversation_id "
    f"AND e.role = %s AND e.seq < m.seq AND e.status = %s), "
    f"c.status, c.current_route, c.route_confidence, c.summary "
    f"FROM {Message._meta.db_table} m JOIN {Conversation._meta.db_table} c ON c.id = m.conversation_id "
    f"WHERE m.id = %s"
)
_FRESH_CONVERSATION_FIELDS = ("status", "current_route", "route_confidence", "summary")


def needs_answer(message: Message, state: dict[str, Any] | None = None) -> bool:
    """Still unanswered (a redelivered message finds its reply); refreshes the message and its conversation
    (from `state` when the caller has just read it)."""
    state = fresh_state(message) if state is None else state
    if state is None:
        return False
    message.status = state["status"]
    for name in _FRESH_CONVERSATION_FIELDS:
        setattr(message.conversation, name, state[f"conversation__{name}"])
    return state["status"] == MessageStatus.RECEIVED and not state["replied"]


def customer_messages() -> Any:
    return Message.objects.select_related(
        "conversation", "conversation__customer", "conversation__verified_order"
    ).filter(role=MessageRole.CUSTOMER)


def customer_message(message_id: int) -> Message | None:
    """`customer_messages().filter(pk=message_id).first()` as one statement written once (every turn reads it)."""
    with connection.cursor() as cursor:
        cursor.execute(_CUSTOMER_MESSAGE_SQL, [message_id, MessageRole.CUSTOMER])
        row = cursor.fetchone()
    if row is None:
        return None
    message, row = model_from_row(Message, row)
    conversation, row = model_from_row(Conversation, row)
    customer, row = model_from_row(_CUSTOMER, row)
    order, _ = model_from_row(_ORDER, row)
    conversation.customer, conversation.verified_order = customer, order
    message.conversation = conversation
    return message


_CUSTOMER = Conversation._meta.get_field("customer").related_model
_ORDER = Conversation._meta.get_field("verified_order").related_model
_CUSTOMER_MESSAGE_SQL = (
    f"SELECT {model_columns(Message, 'm')}, {model_columns(Conversation, 'c')}, "  # noqa: S608 - constant names
    f"{model_columns(_CUSTOMER, 'cu')}, {model_columns(_ORDER, 'o')} "
    f"FROM {Message._meta.db_table} m JOIN {Conversation._meta.db_table} c ON c.id = m.conversation_id "
    f"LEFT JOIN {_CUSTOMER._meta.db_table} cu ON cu.id = c.customer_id "
    f"LEFT JOIN {_ORDER._meta.db_table} o ON o.id = c.verified_order_id "
    f"WHERE m.id = %s AND m.role = %s"
)
