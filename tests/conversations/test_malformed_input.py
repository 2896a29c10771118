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


@pytest.mark.asyncio
async def test_good_messages_around_a_deeply_nested_frame_are_both_answered(turns, caplog):
    comm = await _ready_socket()
    # when: good, an 8000-deep frame, good
    await comm.send_json_to({"type": "message", "id": "good-1", "text": "first"})
    first = await receive_until(comm, "accepted", wait=10)
    await comm.send_to(text_data=NESTED)
    refused = (await receive_until(comm, "error", wait=10))[-1]
    await comm.send_json_to({"type": "message", "id": "good-2", "text": "second"})
    second = await receive_until(comm, "accepted", wait=10)
    # then the deep frame is refused and both good messages are stored and answered
    assert refused == {"type": "error", "code": "bad_json", "message": "Frames must be JSON objects."}
    assert [e["id"] for e in first + second if e["type"] == "accepted"] == ["good-1", "good-2"]
    texts = await sync_to_async(lambda: list(Message.objects.order_by("seq").values_list("text", flat=True)))()
    assert texts == ["first", "second"]
    assert len(turns) == 2
    assert "Traceback" not in caplog.text
    await comm.disconnect()


def test_good_api_messages_around_malformed_bodies_are_stored_and_answered(turns):
    # given a started API conversation
    client = Client(raise_request_exception=False)
    started = client.post("/api/v1/conversations/", {}, content_type="application/json").json()
    url = f"/api/v1/conversations/{started['conversation']}/messages/"
    # when: good, a 100k-deep body, a NUL, good
    good_1 = client.post(url, {"client_message_id": "g1", "text": "first"}, content_type="application/json")
    deep = client.post(url, "[" * 100_000 + "]" * 100_000, content_type="application/json")
    nul = client.post(url, '{"client_message_id": "b", "text": "nul \\u0000"}', content_type="application/json")
    good_2 = client.post(url, {"client_message_id": "g2", "text": "second"}, content_type="application/json")
    # then the bad ones are 400s and both good ones are stored and answered
    assert [good_1.status_code, deep.status_code, nul.status_code, good_2.status_code] == [201, 400, 400, 201]
    assert list(Message.objects.order_by("seq").values_list("text", flat=True)) == ["first", "second"]
    assert len(turns) == 2
