"""The staff console's socket: only staff who work the console, the live queue, sign-out ends it."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async

from apps.conversations import services
from tests.conversations.conftest import communicator, drain, make_user, session_cookie_for

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


async def test_a_watched_conversation_receives_each_message_rendered_as_the_page_renders_it(turns, settings, tmp_path):
    import io

    from django.test import Client
    from PIL import Image

    from apps.conversations.attachments import attachment_create
    from apps.conversations.models import MessageRole

    settings.MEDIA_ROOT = tmp_path / "media"
    # given a staff member watching a conversation in the console
    staff = await sync_to_async(make_user)(staff=True, perms=("conversations.takeover_conversation",))
    _, cookie = await sync_to_async(session_cookie_for)(staff)
    conversation = await sync_to_async(services.conversation_start)()
    comm = communicator("/ws/console/", cookie=cookie)
    connected, _ = await comm.connect()
    assert connected is True
    await comm.send_json_to({"type": "watch", "conversation": str(conversation.public_id)})
    assert (await comm.receive_json_from())["type"] == "watching"
    # when the customer sends a photo and the bot answers in Markdown
    photo = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(photo, format="PNG")
    message, _ = await sync_to_async(attachment_create)(
        conversation=conversation, data=photo.getvalue(), filename="box.png", client_message_id="p-1"
    )
    await sync_to_async(services.message_create)(
        conversation=conversation, role=MessageRole.ASSISTANT, text="It is **in transit**.", in_reply_to=message
    )
    frames = [f for f in await drain(comm) if f["type"] == "conversation" and f["event"] == "message"]
    await comm.disconnect()
    # then each message event carries its transcript entry, exactly as the console page renders it
    assert [f["message"]["role"] for f in frames] == ["customer", "assistant"]
    client = Client()
    await sync_to_async(client.force_login)(staff)
    page = (await sync_to_async(client.get)(f"/console/{conversation.public_id}/")).content.decode()
    photo_entry, reply_entry = frames[0]["entry"], frames[1]["entry"]
    assert photo_entry in page
    assert reply_entry in page
    assert 'class="msg-photo"' in photo_entry
    assert 'alt="Photo from the customer: box.png"' in photo_entry
    assert "<strong>in transit</strong>" in reply_entry
    assert "**" not in reply_entry


async def test_the_console_reloads_its_queue_when_the_layers_subscription_comes_back(turns):
    # given a staff member on the console
    from channels.layers import get_channel_layer

    staff = await sync_to_async(make_user)(staff=True, perms=("conversations.takeover_conversation",))
    _, cookie = await sync_to_async(session_cookie_for)(staff)
    comm = communicator("/ws/console/", cookie=cookie)
    connected, _ = await comm.connect()
    assert connected is True
    # when the process's subscription to the channel layer is lost and made again (queue events may be lost)
    await get_channel_layer()._get_layer()._shards[0]._pubsub.connection.disconnect()
    # then the page is told to reload its queue, once
    assert (await comm.receive_json_from(timeout=5)) == {"type": "queue", "event": "resync"}
    assert await comm.receive_nothing(timeout=0.5)
    await comm.disconnect()
