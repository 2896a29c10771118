"""Accepting a customer's message: the conversation re-read with the client-id lookup, the push without an
attachment query, and the socket's rate limits counted in the same thread hop as the storage (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from apps.conversations import events, ratelimits, selectors, services
from apps.conversations.models import Conversation, ConversationStatus, Message, MessageStatus
from tests.conversations.conftest import communicator

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pushed(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    sent: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(events, "_send", lambda group, event: sent.append((group, event)))
    return sent


def test_a_message_is_stored_in_one_transaction_and_pushed_without_an_attachment_query(turns, pushed) -> None:
    # given a guest's conversation
    conversation = services.conversation_start(session_key="s-1")
    # when a message is accepted outside any transaction of the caller's
    with CaptureQueriesContext(connection) as queries:
        message, created = services.message_accept_customer(
            conversation=conversation, text="Do you ship to Norway?", client_message_id="c-1"
        )
    # then: the conversation's row with the client-id lookup, then the seq and the insert in one statement (a
    # transaction, no savepoint), and no attachment query at commit
    assert created is True
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements == ["SELECT", "BEGIN", "WITH", "COMMIT"]
    assert "UPDATE conversations_conversation" in queries.captured_queries[2]["sql"]
    assert "attachment" not in " ".join(q["sql"] for q in queries.captured_queries)
    [(group, event)] = pushed
    assert group == events.conversation_group(conversation.public_id)
    assert (event["message"]["id"], event["message"]["attachments"]) == (message.pk, [])
    assert turns == [message.pk]


def test_inside_a_callers_transaction_the_pushed_message_carries_what_was_attached(turns, pushed) -> None:
    # given a caller that attaches something to the message in its own transaction (as attachment_create does)
    conversation = services.conversation_start(session_key="s-2")
    with transaction.atomic():
        message, _ = services.message_accept_customer(
            conversation=conversation, text="Here is the photo", client_message_id="c-2"
        )
        attached = message.attachments.create(
            conversation=conversation, file="p.png", content_type="image/png", size=3, width=1, height=1
        )
    # then the message pushed at commit lists it
    [(_, event)] = pushed
    assert [a["id"] for a in event["message"]["attachments"]] == [str(attached.public_id)]


def test_the_conversation_is_read_again_a_closed_one_refuses_and_stores_nothing(turns, pushed) -> None:
    # given a conversation object from before a staff member closed it
    stale = services.conversation_start(session_key="s-3")
    Conversation.objects.filter(pk=stale.pk).update(status=ConversationStatus.CLOSED)
    # when a message arrives on the old object
    with pytest.raises(services.ApplicationError) as refused:
        services.message_accept_customer(conversation=stale, text="Hello?", client_message_id="c-3")
    # then it is refused as closed, and nothing is stored, queued or pushed
    assert refused.value.code == "conversation_closed"
    assert stale.status == ConversationStatus.CLOSED
    assert Message.objects.filter(conversation=stale).count() == 0
    assert (turns, pushed) == ([], [])


def test_a_take_over_behind_the_objects_back_is_seen_and_no_turn_is_queued(turns, pushed) -> None:
    # given a conversation object from before a person took it over
    stale = services.conversation_start(session_key="s-4")
    Conversation.objects.filter(pk=stale.pk).update(status=ConversationStatus.HUMAN)
    # when a message arrives on the old object
    message, created = services.message_accept_customer(conversation=stale, text="Hi", client_message_id="c-4")
    # then it is stored for the person, not queued for the bot
    assert (created, message.status, stale.bot_paused) == (True, MessageStatus.SKIPPED, True)
    assert turns == []


def test_the_re_read_gives_the_values_refresh_from_db_gives(turns) -> None:
    # given a conversation with a message, whose row changed behind the object's back
    conversation = services.conversation_start(session_key="s-5", client_ip="203.0.113.9")
    first, _ = services.message_accept_customer(conversation=conversation, text="One", client_message_id="c-5")
    Conversation.objects.filter(pk=conversation.pk).update(route_confidence=0.75, summary="earlier")
    # when the object is read again with a client id, and the same row by refresh_from_db into another object
    found = selectors.conversation_reread(conversation=conversation, client_message_id="c-5")
    other = Conversation.objects.get(pk=conversation.pk)
    other.refresh_from_db()
    # then the values and their types are the same, and the message under the client id is found
    fields = [f.attname for f in Conversation._meta.concrete_fields]
    assert [(getattr(conversation, f), type(getattr(conversation, f))) for f in fields] == [
        (getattr(other, f), type(getattr(other, f))) for f in fields
    ]
    assert (conversation.summary, found) == ("earlier", first.pk)
    assert selectors.conversation_reread(conversation=conversation, client_message_id="c-other") is None


def test_a_resend_returns_the_stored_message_and_queues_nothing(turns, pushed) -> None:
    conversation = services.conversation_start(session_key="s-6")
    first, _ = services.message_accept_customer(conversation=conversation, text="Hi", client_message_id="c-6")
    again, created = services.message_accept_customer(conversation=conversation, text="Hi", client_message_id="c-6")
    assert (again.pk, created) == (first.pk, False)
    assert turns == [first.pk]
    assert Message.objects.filter(conversation=conversation).count() == 1


@pytest.mark.asyncio
async def test_a_message_over_the_limit_on_an_open_conversation_is_refused_and_not_stored(settings, turns) -> None:
    # given one message per socket per minute, and a socket whose conversation is open
    settings.CHAT_RATE_PER_CONNECTION = "1/m"
    comm = communicator(client_ip="203.0.113.60")
    await comm.connect()
    await comm.send_json_to({"type": "hello", "last_seq": 0})
    await comm.receive_json_from(timeout=3)
    await comm.send_json_to({"type": "message", "id": "m-1", "text": "hello"})
    frames = [await comm.receive_json_from(timeout=5)]
    while frames[-1]["type"] != "accepted":
        frames.append(await comm.receive_json_from(timeout=5))
    # when it sends a second message
    await comm.send_json_to({"type": "message", "id": "m-2", "text": "hello again"})
    while (frame := await comm.receive_json_from(timeout=5))["type"] not in ("accepted", "error"):
        pass
    await comm.disconnect()
    # then it is refused, and only the first is stored and queued
    assert (frame["type"], frame["code"], frame["id"]) == ("error", "rate_limited", "m-2")
    stored = await sync_to_async(list)(Message.objects.values_list("client_message_id", flat=True))
    assert stored == ["m-1"]
    assert len(turns) == 1


@pytest.mark.asyncio
async def test_a_first_message_starts_the_conversation_with_its_ready_frame_and_a_refused_one_starts_none(
    settings, turns
) -> None:
    # given one customer message per address per hour
    settings.CHAT_RATE_PER_IP = "1/h"
    frames = []
    for client_id in ("f-1", "f-2"):  # two cookieless sockets from one address, each without a conversation
        comm = communicator(client_ip="203.0.113.70")
        await comm.connect()
        await comm.send_json_to({"type": "hello", "last_seq": 0})
        await comm.receive_json_from(timeout=3)
        # when each sends its first message
        await comm.send_json_to({"type": "message", "id": client_id, "text": "hello"})
        frames.append([await comm.receive_json_from(timeout=5)])
        while frames[-1][-1]["type"] not in ("accepted", "error"):
            frames[-1].append(await comm.receive_json_from(timeout=5))
        await comm.disconnect()
    # then the first starts a conversation whose ready frame says nothing is stored yet, then is accepted
    conversation = await sync_to_async(Conversation.objects.get)()
    ready, accepted = frames[0]
    assert ready == {
        "type": "ready",
        "conversation": str(conversation.public_id),
        "access": ready["access"],
        "status": "open",
        "identity": {"kind": "guest", "name": "", "verified_order": None},
        "last_seq": 0,
        "csat_pending": False,
        "feedback": {},
    }
    assert (accepted["type"], accepted["id"], accepted["message"]["seq"]) == ("accepted", "f-1", 1)
    # and the second is refused before any conversation is started for it
    assert frames[1] == [{"type": "error", "code": "rate_limited", "message": ratelimits.TOO_FAST, "id": "f-2"}]
    assert await sync_to_async(Conversation.objects.count)() == 1
    assert len(turns) == 1
