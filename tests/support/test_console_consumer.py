"""The staff console's socket: only staff who work the console, the live queue, sign-out ends it."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from apps.conversations import services
from tests.conversations.conftest import communicator, make_user, session_cookie_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def test_console_socket_refuses_non_staff_and_streams_the_queue(turns):
    # a customer cannot open the console socket
    user = await sync_to_async(make_user)()
    _, cookie = await sync_to_async(session_cookie_for)(user)
    comm = communicator("/ws/console/", cookie=cookie)
    connected, _ = await comm.connect()
    assert connected is False
    # a staff member with the takeover permission can, and sees queue changes live
    staff = await sync_to_async(make_user)(staff=True, perms=("conversations.takeover_conversation",))
    _, cookie = await sync_to_async(session_cookie_for)(staff)
    comm = communicator("/ws/console/", cookie=cookie)
    connected, _ = await comm.connect()
    assert connected is True
    conversation = await sync_to_async(services.conversation_start)()
    await sync_to_async(services.conversation_takeover)(conversation=conversation, staff=staff)
    event = await comm.receive_json_from(timeout=3)
    assert event == {
        "type": "queue",
        "event": "conversation_status",
        "conversation": str(conversation.public_id),
        "status": "human",
    }
    await comm.disconnect()


async def test_console_socket_closes_when_the_staff_member_signs_out(turns):
    staff = await sync_to_async(make_user)(staff=True, perms=("conversations.takeover_conversation",))
    client, cookie = await sync_to_async(session_cookie_for)(staff)
    comm = communicator("/ws/console/", cookie=cookie)
    connected, _ = await comm.connect()
    assert connected is True
    await sync_to_async(client.post)("/accounts/logout/")
    assert (await comm.receive_json_from(timeout=3))["type"] == "session_ended"
    assert (await comm.receive_output(timeout=2)) == {"type": "websocket.close", "code": 4401}
