"""The customer's socket: auth, idempotent messages, resume, limits, sign-out, live staff replies."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.sessions.models import Session

from apps.conversations import events, identity, services
from apps.conversations.models import Conversation, ConversationStatus, Message, MessageRole
from tests.conversations.conftest import (
    communicator,
    drain,
    make_customer,
    make_order,
    make_user,
    receive_until,
    scripted_turn,
    session_cookie_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def _hello(comm, **fields):
    await comm.send_json_to({"type": "hello", "last_seq": 0, **fields})
    return await comm.receive_json_from(timeout=3)


async def _open_with_first_message(comm, client_id: str, text: str) -> Conversation:
    """Connects, says hello, sends the first message and drains what follows: the conversation it started."""
    await comm.connect()
    await _hello(comm)
    await comm.send_json_to({"type": "message", "id": client_id, "text": text})
    ready = (await drain(comm))[0]
    return await sync_to_async(Conversation.objects.get)(public_id=ready["conversation"])


async def test_origin_not_allowed_is_refused():
    # given a page on another site
    comm = communicator(origin=b"http://evil.example")
    # when it opens the socket
    connected, _ = await comm.connect()
    # then the handshake is refused
    assert connected is False


async def test_someone_elses_conversation_is_refused_and_not_leaked(turns):
    # given a conversation of another customer
    owner = await sync_to_async(make_customer)()
    conversation = await sync_to_async(services.conversation_start)(customer=owner)
    comm = communicator()
    await comm.connect()
    # when a guest asks for it by id
    event = await _hello(comm, conversation=str(conversation.public_id))
    # then it is refused like a missing one and the socket closes
    assert event == {"type": "error", "code": "not_found", "message": "No such conversation."}
    assert (await comm.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4404}
    await comm.disconnect()


async def test_invalid_identity_token_is_refused(settings):
    settings.CHAT_IDENTITY_SECRET = "shop-secret"
    comm = communicator()
    await comm.connect()
    event = await _hello(comm, identity_token="1.9999999999.deadbeef")
    assert event["type"] == "error"
    assert event["code"] == "invalid_identity"
    assert (await comm.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4401}
    await comm.disconnect()


async def test_frames_before_hello_are_refused(turns):
    comm = communicator()
    await comm.connect()
    await comm.send_json_to({"type": "message", "id": "m1", "text": "hi"})
    event = await comm.receive_json_from(timeout=3)
    assert event["code"] == "hello_required"
    assert await sync_to_async(Message.objects.count)() == 0
    await comm.disconnect()


async def test_message_is_accepted_once_and_a_resend_is_not_answered_twice(turns):
    # given a guest with a session
    _, cookie = await sync_to_async(session_cookie_for)(None)
    comm = communicator(cookie=cookie)
    await comm.connect()
    ready = await _hello(comm)
    assert ready["type"] == "ready"
    assert ready["conversation"] is None
    # when they send a message, then send it again with the same client id (a retry after a drop)
    await comm.send_json_to({"type": "message", "id": "c-1", "text": "Where is my parcel?"})
    first = await drain(comm)
    await comm.send_json_to({"type": "message", "id": "c-1", "text": "Where is my parcel?"})
    second = await drain(comm)
    # then the conversation starts, the message is stored once and one turn is enqueued
    assert [e["type"] for e in first] == ["ready", "accepted", "message"]
    assert first[2]["message"]["seq"] == 1
    assert first[2]["message"]["client_message_id"] == "c-1"
    assert first[1]["duplicate"] is False
    assert [e["type"] for e in second] == ["accepted"]
    assert second[0]["duplicate"] is True
    assert second[0]["message"] == first[1]["message"]
    assert await sync_to_async(Message.objects.filter(client_message_id="c-1").count)() == 1
    assert len(turns) == 1
    await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


async def test_streamed_answer_reaches_the_socket(monkeypatch):
    # given an agent turn that streams three deltas and stores its reply
    from apps.agents import turn_queue

    run = scripted_turn("Your order ships today.", agent="order")
    monkeypatch.setattr(turn_queue, "turn_enqueue", lambda *, message_id: run(message_id))
    comm = communicator()
    await comm.connect()
    await _hello(comm)
    # when the customer asks
    await comm.send_json_to({"type": "message", "id": "q1", "text": "When does it ship?"})
    seen = await receive_until(comm, "message", wait=10)  # ready, accepted, the customer's message
    while seen[-1]["type"] != "message" or seen[-1]["message"]["role"] != "assistant":
        seen.append(await comm.receive_json_from(timeout=10))
    # then typing, the deltas and the final message arrive in that order
    kinds = [e["type"] for e in seen]
    deltas = [e for e in seen if e["type"] == "delta"]
    final = seen[-1]["message"]
    customer_message_id = seen[1]["message"]["id"]
    assert kinds == ["ready", "accepted", "message", "typing", "delta", "delta", "delta", "message"]
    assert "".join(d["text"] for d in deltas) == "Your order ships today."
    assert {d["reply_to"] for d in deltas} == {customer_message_id}
    assert final["role"] == "assistant"
    assert final["agent"] == "order"
    assert final["in_reply_to"] == customer_message_id
    assert final["seq"] == 2
    await comm.disconnect()


async def test_resume_replays_only_what_was_missed_in_order(turns):
    # given a guest conversation with four stored messages; the client saw the first two
    _, cookie = await sync_to_async(session_cookie_for)(None)
    comm = communicator(cookie=cookie)
    await comm.connect()
    await _hello(comm)
    await comm.send_json_to({"type": "message", "id": "a", "text": "one"})
    ready = (await drain(comm))[0]
    conversation = await sync_to_async(Conversation.objects.get)(public_id=ready["conversation"])
    await comm.disconnect()
    for role, text in [(MessageRole.ASSISTANT, "two"), (MessageRole.CUSTOMER, "three"), (MessageRole.ASSISTANT, "4")]:
        await sync_to_async(services.message_create)(conversation=conversation, role=role, text=text)
    # when the client reconnects from another browser with its access key and last seq 2
    comm = communicator()
    await comm.connect()
    event = await _hello(comm, conversation=ready["conversation"], access=ready["access"], last_seq=2)
    replay = [await comm.receive_json_from(timeout=3) for _ in range(2)]
    # then it gets seq 3 and 4, once each, in order, and nothing else
    assert event["type"] == "ready"
    assert event["last_seq"] == 4
    assert [(e["type"], e["message"]["seq"], e["message"]["text"]) for e in replay] == [
        ("message", 3, "three"),
        ("message", 4, "4"),
    ]
    await comm.receive_nothing(timeout=0.3)
    # and a late duplicate of seq 4 is dropped while a jump to 6 first fills in 5
    m5 = await sync_to_async(Message.objects.create)(conversation=conversation, seq=5, role="assistant", text="five")
    m6 = await sync_to_async(Message.objects.create)(conversation=conversation, seq=6, role="assistant", text="six")
    m4 = await sync_to_async(Message.objects.get)(conversation=conversation, seq=4)
    layer = get_channel_layer()
    group = events.conversation_group(conversation.public_id)
    for m in (m4, m6, m5):
        await layer.group_send(group, {"type": "chat.event", "event": "message", "message": events.message_payload(m)})
    live = [await comm.receive_json_from(timeout=3) for _ in range(2)]
    assert [e["message"]["seq"] for e in live] == [m5.seq, m6.seq]
    await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_access_key_of_another_conversation_does_not_open_this_one(turns):
    a = await sync_to_async(services.conversation_start)()
    b = await sync_to_async(services.conversation_start)()
    comm = communicator()
    await comm.connect()
    event = await _hello(comm, conversation=str(a.public_id), access=identity.access_key_for(b))
    assert event["code"] == "not_found"
    await comm.disconnect()


async def test_rate_limit_sends_an_error_and_stores_nothing_more(turns, settings):
    # given a limit of two messages per connection
    settings.CHAT_RATE_PER_CONNECTION = "2/h"
    comm = communicator()
    await comm.connect()
    await _hello(comm)
    for i in range(2):
        await comm.send_json_to({"type": "message", "id": f"r{i}", "text": "hello"})
        await drain(comm)
    # when a third arrives within the minute
    await comm.send_json_to({"type": "message", "id": "r2", "text": "hello"})
    event = await comm.receive_json_from(timeout=3)
    # then it is refused with a clear code, nothing is stored and no turn runs
    assert event == {
        "type": "error",
        "code": "rate_limited",
        "message": "You are sending messages too fast. Wait a moment.",
        "id": "r2",
    }
    assert await sync_to_async(Message.objects.count)() == 2
    assert len(turns) == 2
    await comm.disconnect()


async def test_per_customer_limit_spans_connections(turns, settings):
    settings.CHAT_RATE_PER_CUSTOMER = "2/h"
    user = await sync_to_async(make_user)()
    await sync_to_async(make_customer)(user=user)
    _, cookie = await sync_to_async(session_cookie_for)(user)
    sent = 0
    for tab in range(2):
        comm = communicator(cookie=cookie)
        await comm.connect()
        await _hello(comm)
        await comm.send_json_to({"type": "message", "id": f"t{tab}", "text": "hi"})
        await drain(comm)
        sent += 1
        await comm.disconnect()
    comm = communicator(cookie=cookie)
    await comm.connect()
    await _hello(comm)
    replayed = await drain(comm)
    await comm.send_json_to({"type": "message", "id": "t3", "text": "hi"})
    event = await comm.receive_json_from(timeout=3)
    # the second tab resumed the same conversation, and the third message is over the customer's limit
    assert [e["message"]["client_message_id"] for e in replayed] == ["t0", "t1"]
    assert event["code"] == "rate_limited"
    assert await sync_to_async(Message.objects.count)() == sent
    await comm.disconnect()


async def test_frame_too_large_is_refused_and_closes(turns, settings):
    settings.CHAT_MAX_FRAME_BYTES = 1000
    comm = communicator()
    await comm.connect()
    await _hello(comm)
    await comm.send_to(text_data=json.dumps({"type": "message", "id": "big", "text": "x" * 2000}))
    event = await comm.receive_json_from(timeout=3)
    assert event["code"] == "frame_too_large"
    assert (await comm.receive_output(timeout=2)) == {"type": "websocket.close", "code": 1009}
    assert await sync_to_async(Message.objects.count)() == 0
    assert turns == []


async def test_bad_json_is_an_error_not_a_crash(turns):
    comm = communicator()
    await comm.connect()
    await _hello(comm)
    await comm.send_to(text_data="{not json")
    assert (await comm.receive_json_from(timeout=3))["code"] == "bad_json"
    await comm.send_json_to({"type": "ping"})
    assert (await comm.receive_json_from(timeout=3)) == {"type": "pong"}
    await comm.disconnect()


async def test_logging_out_closes_the_socket_at_once(turns):
    # given a signed-in customer chatting
    user = await sync_to_async(make_user)()
    customer = await sync_to_async(make_customer)(user=user)
    client, cookie = await sync_to_async(session_cookie_for)(user)
    comm = communicator(cookie=cookie)
    await comm.connect()
    ready = await _hello(comm)
    assert ready["identity"] == {"kind": "user", "name": customer.first_name, "verified_order": None}
    # when they sign out in another tab
    response = await sync_to_async(client.post)("/accounts/logout/")
    # then the socket is told and closed
    assert response.status_code in (200, 302)
    event = await comm.receive_json_from(timeout=3)
    assert event["type"] == "session_ended"
    assert (await comm.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4401}


async def test_session_is_rechecked_on_every_message(turns):
    # given a signed-in customer whose session is deleted behind the socket's back (expiry, admin)
    user = await sync_to_async(make_user)()
    await sync_to_async(make_customer)(user=user)
    _, cookie = await sync_to_async(session_cookie_for)(user)
    comm = communicator(cookie=cookie)
    await comm.connect()
    await _hello(comm)
    await sync_to_async(Session.objects.all().delete)()
    # when they send a message
    await comm.send_json_to({"type": "message", "id": "x", "text": "refund me"})
    event = await comm.receive_json_from(timeout=3)
    # then the chat ends and nothing was stored or enqueued
    assert event["type"] == "session_ended"
    assert (await comm.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4401}
    assert await sync_to_async(Message.objects.count)() == 0
    assert turns == []


async def test_guest_verification_binds_the_order_only_when_email_matches(turns):
    customer = await sync_to_async(make_customer)(email="ada@example.com")
    order = await sync_to_async(make_order)(customer=customer, number="TW-777")
    _, cookie = await sync_to_async(session_cookie_for)(None)
    comm = communicator(cookie=cookie)
    await comm.connect()
    await _hello(comm)
    # wrong email: refused, nothing bound
    await comm.send_json_to({"type": "verify", "order_number": "TW-777", "email": "eve@example.com"})
    seen = await receive_until(comm, "error")
    conversation = await sync_to_async(Conversation.objects.get)()
    assert seen[-1]["code"] == "verification_failed"
    assert conversation.verified_order_id is None
    # right email (any case): bound to the conversation and the session
    await comm.send_json_to({"type": "verify", "order_number": "tw-777", "email": " ADA@example.com"})
    event = await comm.receive_json_from(timeout=3)
    await sync_to_async(conversation.refresh_from_db)()
    session = await sync_to_async(Session.objects.get)()
    assert event == {"type": "verified", "order": "TW-777"}
    assert conversation.verified_order_id == order.pk
    assert session.get_decoded()[identity.SESSION_VERIFIED_ORDER] == order.pk
    await comm.disconnect()


async def test_staff_takeover_reply_reaches_the_customer_live(turns):
    # given a customer chatting and a staff member who may take over
    comm = communicator()
    conversation = await _open_with_first_message(comm, "h", "I want a person")
    staff = await sync_to_async(make_user)(username="dana", staff=True)
    # when they take over and reply
    await sync_to_async(services.conversation_takeover)(conversation=conversation, staff=staff)
    await sync_to_async(services.message_create_staff)(conversation=conversation, staff=staff, text="Hi, Dana here.")
    seen = await drain(comm)
    # then the customer sees the handoff, the join notice and the reply
    assert seen[0] == {"type": "handoff", "status": ConversationStatus.HUMAN, "agent": "dana"}
    assert [(e["message"]["role"], e["message"]["text"]) for e in seen[1:]] == [
        ("system", "dana from the support team has joined the chat."),
        ("staff", "Hi, Dana here."),
    ]
    # and the customer's next message does not wake the bot
    await comm.send_json_to({"type": "message", "id": "h2", "text": "thanks"})
    await receive_until(comm, "accepted")
    assert len(turns) == 1
    await comm.disconnect()


async def test_approval_outcome_is_relayed(turns):
    comm = communicator()
    await comm.connect()
    await _hello(comm)
    await comm.send_json_to({"type": "message", "id": "r", "text": "refund please"})
    ready = (await receive_until(comm, "message", wait=10))[0]  # not a quiet period: the host may be busy
    conversation = await sync_to_async(Conversation.objects.get)(public_id=ready["conversation"])

    def push():
        from django.db import transaction

        with transaction.atomic():
            events.push_on_commit(conversation, "approval_outcome", status="approved", amount="19.99", currency="USD")

    await sync_to_async(push)()
    event = await comm.receive_json_from(timeout=3)
    assert event == {"type": "approval_outcome", "status": "approved", "amount": "19.99", "currency": "USD"}
    await comm.disconnect()


async def test_feedback_and_csat_over_the_socket(turns):
    comm = communicator()
    conversation = await _open_with_first_message(comm, "f", "hi")
    answer = await sync_to_async(services.message_create)(conversation=conversation, role="assistant", text="Hello!")
    await receive_until(comm, "message")
    await comm.send_json_to({"type": "feedback", "message": answer.pk, "rating": "down"})
    assert (await comm.receive_json_from(timeout=3)) == {
        "type": "feedback_saved",
        "message": answer.pk,
        "rating": "down",
    }
    # CSAT before closing is refused; after closing it is stored once
    await comm.send_json_to({"type": "csat", "score": 4})
    assert (await comm.receive_json_from(timeout=3))["code"] == "not_closed"
    staff = await sync_to_async(make_user)(staff=True)
    await sync_to_async(services.conversation_close)(conversation=conversation, staff=staff, resolution_code="resolved")
    await receive_until(comm, "closed")
    await comm.send_json_to({"type": "csat", "score": 4, "comment": "quick"})
    assert (await comm.receive_json_from(timeout=3)) == {"type": "csat_saved", "score": 4}
    await sync_to_async(conversation.refresh_from_db)()
    assert (conversation.csat_score, conversation.csat_comment) == (4, "quick")
    await comm.disconnect()


async def test_an_idle_socket_survives_the_channel_layers_blocking_reads():
    # given a connected customer who says nothing for longer than one blocking receive on Redis (5 s)
    import asyncio

    comm = communicator()
    await comm.connect()
    await _hello(comm)
    await asyncio.sleep(6.5)
    # when they come back
    await comm.send_json_to({"type": "ping"})
    # then the socket still answers (redis-py's default 5 s read timeout once killed idle consumers)
    assert (await comm.receive_json_from(timeout=3)) == {"type": "pong"}
    await comm.disconnect()


async def test_start_opens_a_conversation_before_any_message_and_a_photo_can_follow(turns):
    # given a guest with a session and no conversation yet
    _, cookie = await sync_to_async(session_cookie_for)(None)
    comm = communicator(cookie=cookie)
    await comm.connect()
    assert (await _hello(comm))["conversation"] is None
    # when the page starts the conversation (a photo was chosen before anything was said)
    await comm.send_json_to({"type": "start", "id": "photo-1"})
    ready = await comm.receive_json_from(timeout=3)
    # then it is ready with a new, empty, open conversation the guest may post to
    assert (ready["type"], ready["status"], ready["last_seq"]) == ("ready", "open", 0)
    conversation = await sync_to_async(Conversation.objects.get)()
    assert str(conversation.public_id) == ready["conversation"]
    assert await sync_to_async(conversation.messages.count)() == 0
    # and a second start does not open another one
    await comm.send_json_to({"type": "start"})
    again = await comm.receive_json_from(timeout=3)
    assert (again["type"], again["conversation"]) == ("ready", ready["conversation"])
    assert await sync_to_async(Conversation.objects.count)() == 1
    assert turns == []
    await comm.disconnect()


async def test_start_counts_as_a_new_conversation_and_is_refused_over_the_limit(turns, settings):
    # given an address that may start one conversation an hour
    settings.CHAT_RATE_CONVERSATIONS_PER_IP = "1/h"
    first = communicator(client_ip="198.51.100.7")
    await first.connect()
    await _hello(first)
    await first.send_json_to({"type": "start"})
    assert (await first.receive_json_from(timeout=3))["type"] == "ready"
    await first.disconnect()
    second = communicator(client_ip="198.51.100.7")
    await second.connect()
    await _hello(second)
    # when a second socket from it asks to start another
    await second.send_json_to({"type": "start", "id": "photo-2"})
    event = await second.receive_json_from(timeout=3)
    # then it is refused with the client id, and no second conversation exists
    assert (event["type"], event["code"], event["id"]) == ("error", "rate_limited", "photo-2")
    assert await sync_to_async(Conversation.objects.count)() == 1
    await second.disconnect()


async def test_messages_stored_while_the_layers_subscription_was_down_are_replayed_once_it_is_back(turns):
    # given a guest socket that has seen its conversation's first message
    _, cookie = await sync_to_async(session_cookie_for)(None)
    comm = communicator(cookie=cookie)
    conversation = await _open_with_first_message(comm, "a", "one")
    # and an answer stored whose event never reached this process (published while its subscription was down)
    await sync_to_async(Message.objects.create)(conversation=conversation, seq=2, role="assistant", text="two")
    # when the process's subscription to the channel layer is lost and redis-py makes it again
    shard = get_channel_layer()._get_layer()._shards[0]
    await shard._pubsub.connection.disconnect()
    # then the socket gets the stored answer from the database, once
    replayed = await comm.receive_json_from(timeout=5)
    assert (replayed["type"], replayed["message"]["seq"], replayed["message"]["text"]) == ("message", 2, "two")
    assert await comm.receive_nothing(timeout=0.5)
    # and live events arrive again on the renewed subscription
    m3 = await sync_to_async(Message.objects.create)(conversation=conversation, seq=3, role="assistant", text="3")
    group = events.conversation_group(conversation.public_id)
    await get_channel_layer().group_send(
        group, {"type": "chat.event", "event": "message", "message": await sync_to_async(events.message_payload)(m3)}
    )
    live = await comm.receive_json_from(timeout=3)
    assert (live["type"], live["message"]["seq"]) == ("message", 3)
    await comm.disconnect()
