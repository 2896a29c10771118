"""Malformed frames and bodies get an error frame or a 400, never a traceback; the socket stays usable."""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from apps.conversations.models import Message
from tests.conversations.conftest import communicator, receive_until

pytestmark = pytest.mark.django_db(transaction=True)

NESTED = "[" * 8000 + "]" * 8000


async def _ready_socket():
    comm = communicator()
    await comm.connect()
    await comm.send_json_to({"type": "hello", "last_seq": 0})
    await comm.receive_json_from(timeout=3)
    return comm


@pytest.mark.asyncio
async def test_a_deeply_nested_frame_gets_an_error_frame_and_the_socket_stays_open(turns, caplog):
    comm = await _ready_socket()
    # when
    await comm.send_to(text_data=NESTED)
    error = await comm.receive_json_from(timeout=3)
    await comm.send_to(
        text_data=json.dumps({"type": "message", "id": "x", "text": [[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]})
    )
    nested_object = await comm.receive_json_from(timeout=3)
    await comm.send_json_to({"type": "ping"})
    # then
    assert error == {"type": "error", "code": "bad_json", "message": "Frames must be JSON objects."}
    assert nested_object == {"type": "error", "code": "bad_json", "message": "Frames must be flat JSON objects."}
    assert await comm.receive_json_from(timeout=3) == {"type": "pong"}
    assert "Traceback" not in caplog.text
    assert await sync_to_async(Message.objects.count)() == 0
    await comm.disconnect()


@pytest.mark.asyncio
@pytest.mark.parametrize("bad", ["nul \u0000 byte", "lone \ud800 surrogate", "trailing \udfff"])
async def test_nul_bytes_and_lone_surrogates_are_refused_and_good_messages_around_them_are_answered(turns, caplog, bad):
    comm = await _ready_socket()
    # when: good, bad, good
    await comm.send_json_to({"type": "message", "id": "good-1", "text": "first"})
    first = await receive_until(comm, "accepted", wait=10)
    await comm.send_to(text_data=json.dumps({"type": "message", "id": "bad", "text": bad}))
    refused = (await receive_until(comm, "error", wait=10))[-1]
    await comm.send_json_to({"type": "message", "id": "good-2", "text": "second"})
    second = await receive_until(comm, "accepted", wait=10)
    # then the bad one is refused cleanly, both good ones are stored and answered
    assert refused == {
        "type": "error",
        "code": "invalid_text",
        "message": "Messages cannot contain NUL characters or unpaired surrogates.",
        "id": "bad",
    }
    assert [e["id"] for e in first + second if e["type"] == "accepted"] == ["good-1", "good-2"]
    texts = await sync_to_async(lambda: list(Message.objects.order_by("seq").values_list("text", flat=True)))()
    assert texts == ["first", "second"]
    assert len(turns) == 2
    assert "Traceback" not in caplog.text
    await comm.disconnect()


def test_a_deeply_nested_api_body_is_a_400(turns):
    client = Client(raise_request_exception=False)
    # when
    nested = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/v1/conversations/", nested, content_type="application/json")
    # then
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - the body is nested too deeply."}


def test_nul_and_surrogates_in_api_messages_are_a_400(turns):
    client = Client()
    started = client.post("/api/v1/conversations/", {}, content_type="application/json").json()
    url = f"/api/v1/conversations/{started['conversation']}/messages/"
    for text in ("nul \\u0000", "lone \\ud800"):
        body = '{"client_message_id": "m", "text": "' + text + '"}'
        assert client.post(url, body, content_type="application/json").status_code == 400
    assert Message.objects.count() == 0
