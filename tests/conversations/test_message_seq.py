"""A conversation's messages are numbered 1, 2, 3... by a counter on its row (`services.message_store`)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections, transaction

from apps.conversations.models import Conversation, Message, MessageRole
from apps.conversations.services import message_create

pytestmark = pytest.mark.django_db


def test_messages_are_numbered_in_order_and_the_row_keeps_the_last() -> None:
    # given
    conversation = Conversation.objects.create()

    # when
    first = message_create(conversation=conversation, role=MessageRole.CUSTOMER, text="hi")
    second = message_create(conversation=conversation, role=MessageRole.ASSISTANT, text="hello")
    other = message_create(conversation=Conversation.objects.create(), role=MessageRole.CUSTOMER, text="hey")

    # then
    assert (first.seq, second.seq, other.seq) == (1, 2, 1)
    conversation.refresh_from_db()
    assert conversation.last_seq == 2
    assert conversation.last_message_at is not None
    assert conversation.last_message_at <= second.created_at


def test_a_message_stored_without_the_counter_is_never_numbered_again() -> None:
    # given: a row written directly (as fixtures and old data do), past the counter
    conversation = Conversation.objects.create()
    message_create(conversation=conversation, role=MessageRole.CUSTOMER, text="one")
    Message.objects.create(conversation=conversation, seq=5, role=MessageRole.ASSISTANT, text="five")

    # when
    after = message_create(conversation=conversation, role=MessageRole.CUSTOMER, text="six")

    # then
    assert after.seq == 6
    assert list(conversation.messages.values_list("seq", flat=True)) == [1, 5, 6]


def _waiting_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_second_writer_waits_for_the_first_and_takes_the_next_number() -> None:
    # given: a writer holds its message's transaction open
    conversation = Conversation.objects.create()
    stored, second_seq = threading.Event(), []
    release = threading.Event()

    def first_writer() -> None:
        try:
            with transaction.atomic():
                message_create(conversation=conversation, role=MessageRole.CUSTOMER, text="first")
                stored.set()
                release.wait(30)
        finally:
            connections.close_all()

    def second_writer() -> None:
        try:
            second_seq.append(message_create(conversation=conversation, role=MessageRole.ASSISTANT, text="second").seq)
        finally:
            connections.close_all()

    a = threading.Thread(target=first_writer)
    a.start()
    assert stored.wait(30)
    b = threading.Thread(target=second_writer)
    b.start()

    # when: the second writer is blocked on the row, then the first commits
    deadline = time.monotonic() + 30
    while not _waiting_on_a_lock() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert second_seq == []
    release.set()
    a.join(30)
    b.join(30)

    # then
    assert second_seq == [2]
    assert list(conversation.messages.values_list("seq", "text")) == [(1, "first"), (2, "second")]
