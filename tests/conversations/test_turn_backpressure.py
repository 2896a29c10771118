"""Back-pressure on the turn queue (apps.agents.turn_queue), through the socket and the API, on the real test Redis:
a full queue answers `busy` with when to send again and stores nothing; the abuse limits count before it."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from apps.agents.turn_queue import BUSY_MESSAGE, turn_enqueue, turn_queue_length
from apps.conversations.models import Message
from tests.conversations.conftest import communicator

pytestmark = pytest.mark.django_db(transaction=True)


async def _until(comm, *types: str) -> list[dict]:
    seen = []
    while not seen or seen[-1]["type"] not in types:
        seen.append(await comm.receive_json_from(timeout=10))
    return seen


async def _ready(comm) -> None:
    connected, _ = await comm.connect()
    assert connected
    await comm.send_json_to({"type": "hello", "last_seq": 0})
    await _until(comm, "ready")


@pytest.mark.asyncio
async def test_a_full_turn_queue_answers_busy_and_the_same_message_goes_through_later(settings):
    # given: a queue limited to one turn, which is taken
    settings.SWITCHBOARD_TURN_QUEUE_MAX_LENGTH = 1
    settings.SWITCHBOARD_TURN_BUSY_RETRY_SECONDS = 4
    await sync_to_async(turn_enqueue)(message_id=10**9)
    comm = communicator()
    await _ready(comm)
    # when: the customer writes
    await comm.send_json_to({"type": "message", "id": "m1", "text": "Where is my parcel?"})
    refused = (await _until(comm, "accepted", "error"))[-1]
    stored_while_busy = await sync_to_async(Message.objects.filter(client_message_id="m1").count)()
    queued_while_busy = await sync_to_async(turn_queue_length)()
    # and the client sends the same frame again once there is room
    settings.SWITCHBOARD_TURN_QUEUE_MAX_LENGTH = 2
    await comm.send_json_to({"type": "message", "id": "m1", "text": "Where is my parcel?"})
    accepted = (await _until(comm, "accepted", "error"))[-1]
    # then
    assert refused == {"type": "error", "code": "busy", "message": BUSY_MESSAGE, "id": "m1", "retry_after": 4}
    assert (stored_while_busy, queued_while_busy) == (0, 1)
    assert accepted["type"] == "accepted"
    assert accepted["duplicate"] is False
    assert await sync_to_async(Message.objects.filter(client_message_id="m1").count)() == 1
    assert await sync_to_async(turn_queue_length)() == 2
    await comm.disconnect()


@pytest.mark.asyncio
async def test_the_message_rate_limit_refuses_before_anything_is_queued(settings):
    # given: one message per connection per minute
    settings.CHAT_RATE_PER_CONNECTION = "1/m"
    comm = communicator()
    await _ready(comm)
    await comm.send_json_to({"type": "message", "id": "m1", "text": "Hello"})
    first = (await _until(comm, "accepted", "error"))[-1]
    # when
    await comm.send_json_to({"type": "message", "id": "m2", "text": "Hello again"})
    second = (await _until(comm, "accepted", "error"))[-1]
    # then: the second is refused, neither stored nor queued
    assert first["type"] == "accepted"
    assert (second["type"], second["code"]) == ("error", "rate_limited")
    assert await sync_to_async(Message.objects.filter(client_message_id="m2").count)() == 0
    assert await sync_to_async(turn_queue_length)() == 1
    await comm.disconnect()


def test_the_api_answers_503_with_retry_after_while_the_queue_is_full(settings):
    # given: a queue limited to one turn, which is taken
    settings.SWITCHBOARD_TURN_QUEUE_MAX_LENGTH = 1
    settings.SWITCHBOARD_TURN_BUSY_RETRY_SECONDS = 5
    client = Client()
    started = client.post("/api/v1/conversations/", {}, content_type="application/json").json()
    turn_enqueue(message_id=10**9)
    # when
    body = {"client_message_id": "a1", "text": "Where is my parcel?"}
    response = client.post(
        f"/api/v1/conversations/{started['conversation']}/messages/", body, content_type="application/json"
    )
    # then
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json() == {"error": {"code": "busy", "message": BUSY_MESSAGE, "retry_after": 5}}
    assert Message.objects.filter(client_message_id="a1").count() == 0
    assert turn_queue_length() == 1
