"""The turn's reads written as SQL (apps.agents.turn_state, apps.core.fixed_sql) give what the ORM gives."""

from __future__ import annotations

import pytest
from django.db.models import Model

from apps.agents.models import PendingAction
from apps.agents.turn_state import customer_message, customer_messages, fresh_state
from apps.conversations.models import Conversation, Message, MessageRole, MessageStatus
from apps.conversations.services import message_create
from apps.core.fixed_sql import model_insert
from tests.commerce.factories import make_order

pytestmark = pytest.mark.django_db


def _fields(instance: Model | None) -> dict | None:
    if instance is None:
        return None
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_customers_message_is_read_with_its_conversation_customer_and_order_as_the_orm_reads_it() -> None:
    # given a verified customer's conversation with JSON on the message and an address on the conversation
    order = make_order()
    conversation = Conversation.objects.create(customer=order.customer, verified_order=order, client_ip="10.1.2.3")
    message = message_create(
        conversation=conversation, role=MessageRole.CUSTOMER, text="Where is it?", status=MessageStatus.RECEIVED
    )
    Message.objects.filter(pk=message.pk).update(data={"a": [1, "b"]}, citations=[{"id": 1}])
    expected = customer_messages().get(pk=message.pk)

    # when
    read = customer_message(message.pk)

    # then: every column of the four rows, with the relations cached (no further statement reads them)
    assert _fields(read) == _fields(expected)
    assert read.data == {"a": [1, "b"]}
    assert read.citations == [{"id": 1}]
    assert _fields(read.conversation) == _fields(expected.conversation)
    assert _fields(read.conversation.customer) == _fields(expected.conversation.customer)
    assert _fields(read.conversation.verified_order) == _fields(expected.conversation.verified_order)
    assert read.conversation.client_ip == "10.1.2.3"


def test_a_guests_message_has_no_customer_or_order_and_an_assistant_message_is_not_read() -> None:
    # given a guest's conversation with a customer message and the bot's reply
    conversation = Conversation.objects.create(session_key="g" * 32)
    message = message_create(
        conversation=conversation, role=MessageRole.CUSTOMER, text="Hi", status=MessageStatus.RECEIVED
    )
    reply = message_create(conversation=conversation, role=MessageRole.ASSISTANT, text="Hello", in_reply_to=message)

    # when
    read = customer_message(message.pk)

    # then
    assert (read.conversation.customer, read.conversation.verified_order) == (None, None)
    assert customer_message(reply.pk) is None
    assert customer_message(reply.pk + 1000) is None
    assert fresh_state(message) == {
        "status": MessageStatus.RECEIVED,
        "replied": True,
        "earlier_waiting": False,
        "conversation__status": conversation.status,
        "conversation__current_route": "",
        "conversation__route_confidence": None,
        "conversation__summary": "",
    }


def test_model_insert_stores_the_row_save_would_store() -> None:
    # given a new pending action (auto_now times, JSON arguments, a default position)
    conversation = Conversation.objects.create(session_key="g" * 32)
    message = message_create(conversation=conversation, role=MessageRole.CUSTOMER, text="Cancel it")
    action = PendingAction(
        conversation=conversation,
        requested_in=message,
        tool_name="order_cancel",
        arguments={"number": "TW-1", "items": [1, 2]},
        summary="cancel order TW-1",
        expires_at=message.created_at,
    )

    # when
    model_insert(action)

    # then
    stored = PendingAction.objects.get(pk=action.pk)
    assert _fields(stored) == _fields(action)
    assert stored.created_at is not None
    assert stored.arguments == {"number": "TW-1", "items": [1, 2]}
    assert action._state.adding is False
