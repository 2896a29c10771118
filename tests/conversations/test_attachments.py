"""Photo attachments: type sniffed from the bytes, size capped, stored under MEDIA_ROOT, served to the right people."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from apps.conversations.models import Attachment, Conversation, ConversationStatus, Message
from tests.conversations.conftest import make_customer, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def _guest_conversation() -> tuple[Client, dict]:
    client = Client()
    started = client.post("/api/v1/conversations/", {"channel": "web"}, content_type="application/json").json()
    return client, started


def _upload(client: Client, conversation: str, data: bytes, name: str, *, client_id: str = "p-1", **headers: str):
    return client.post(
        f"/api/v1/conversations/{conversation}/attachments/",
        {"file": SimpleUploadedFile(name, data, content_type="image/jpeg"), "client_message_id": client_id},
        headers=headers,
    )


def test_a_guest_sends_a_photo_and_it_is_stored_with_a_message_of_its_own(
    turns, media_root, django_capture_on_commit_callbacks
):
    # given a guest's conversation
    client, started = _guest_conversation()
    # when they upload a PNG (whatever the browser claims its type is)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, started["conversation"], _png(), "damaged box.jpg")
    # then a customer message carries the attachment, stored under MEDIA_ROOT with the sniffed type
    assert response.status_code == 201
    body = response.json()
    assert body["role"] == "customer"
    assert body["text"] == "Sent a photo: damaged box.jpg"
    [meta] = body["attachments"]
    assert (meta["content_type"], meta["width"], meta["height"], meta["name"]) == (
        "image/png",
        40,
        30,
        "damaged box.jpg",
    )
    attachment = Attachment.objects.get()
    assert attachment.message_id == body["id"]
    assert attachment.file.name.endswith(f"{attachment.public_id}.png")
    assert Path(attachment.file.path).is_relative_to(Path(media_root))
    assert Path(attachment.file.path).read_bytes() == _png()
    # and the bot is asked to answer it like any customer message
    assert turns == [body["id"]]


def test_a_resend_with_the_same_client_id_stores_the_photo_once(turns, django_capture_on_commit_callbacks):
    client, started = _guest_conversation()
    with django_capture_on_commit_callbacks(execute=True):
        first = _upload(client, started["conversation"], _png(), "a.png")
        again = _upload(client, started["conversation"], _png(), "a.png")
    assert (first.status_code, again.status_code) == (201, 200)
    assert Attachment.objects.count() == 1
    assert len(turns) == 1


def test_a_file_that_is_not_an_image_is_refused_whatever_its_name(turns, media_root):
    # given a guest's conversation
    client, started = _guest_conversation()
    # when they upload HTML named like a photo
    response = _upload(client, started["conversation"], b"<html><script>alert(1)</script></html>", "photo.jpg")
    # then it is refused, and nothing was stored or asked of the bot
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_type"
    assert Attachment.objects.count() == 0
    assert Message.objects.count() == 0
    assert turns == []
    assert [p for p in Path(media_root).rglob("*") if p.is_file()] == []


def test_an_image_type_not_on_the_list_is_refused(turns, settings):
    settings.CHAT_ATTACHMENT_TYPES = ["image/jpeg"]
    client, started = _guest_conversation()
    response = _upload(client, started["conversation"], _png(), "a.png")
    assert response.json()["error"]["code"] == "invalid_type"
    assert Attachment.objects.count() == 0


def test_a_photo_over_the_size_limit_is_refused(turns, settings):
    settings.CHAT_ATTACHMENT_MAX_BYTES = 100
    client, started = _guest_conversation()
    response = _upload(client, started["conversation"], _png(200, 200), "big.png")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_large"
    assert Attachment.objects.count() == 0
    assert Message.objects.count() == 0


def test_someone_elses_conversation_is_not_found_and_gets_nothing(turns):
    _, started = _guest_conversation()
    response = _upload(Client(), started["conversation"], _png(), "a.png")
    assert response.status_code == 404
    assert Attachment.objects.count() == 0


def test_the_photo_is_served_to_its_owner_staff_and_a_signed_link_only(turns):
    # given a photo in a guest's conversation
    client, started = _guest_conversation()
    meta = _upload(client, started["conversation"], _png(), "a.png").json()["attachments"][0]
    path = meta["url"].split("?")[0]
    # then the guest's own session and the signed link get the bytes, with the sniffed type
    own = client.get(path)
    assert own.status_code == 200
    assert own["Content-Type"] == "image/png"
    assert own["X-Content-Type-Options"] == "nosniff"
    assert b"".join(own.streaming_content) == _png()
    assert Client().get(meta["url"]).status_code == 200
    # and staff who work conversations see it too
    staff = make_user(staff=True, perms=("conversations.view_conversation",))
    staff_client = Client()
    staff_client.force_login(staff)
    assert staff_client.get(path).status_code == 200
    # but a stranger, a tampered link, or a signed-in customer who is not the owner gets 404
    assert Client().get(path).status_code == 404
    assert Client().get(path + "?t=forged:token").status_code == 404
    other = Client()
    other.force_login(make_user())
    assert other.get(path).status_code == 404
    no_perm_staff = Client()
    no_perm_staff.force_login(make_user(staff=True))
    assert no_perm_staff.get(path).status_code == 404


def test_a_photo_while_waiting_for_a_person_gets_the_waiting_acknowledgement(turns):
    # given a signed-in customer's conversation that waits for staff
    user = make_user()
    make_customer(user=user)
    client = Client()
    client.force_login(user)
    started = client.post("/api/v1/conversations/", {"channel": "web"}, content_type="application/json").json()
    Conversation.objects.filter(public_id=started["conversation"]).update(status=ConversationStatus.WAITING_HUMAN)
    # when they send a photo (signed-in: the CSRF token is required)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    page = client.get("/chat/")
    token = page.context["csrf_token"]
    response = _upload(client, started["conversation"], _png(), "a.png", X_CSRFToken=str(token))
    # then it is stored, not sent to the bot, and acknowledged
    assert response.status_code == 201
    assert turns == []
    roles = list(Message.objects.order_by("seq").values_list("role", "data__event"))
    assert roles == [("customer", None), ("system", "waiting")]


def test_the_photos_show_on_the_ticket_and_the_refund_approval_in_the_admin(turns):
    support = pytest.importorskip("apps.support.services.tickets", reason="needs the support desk")
    from apps.conversations.models import Attachment as AttachmentModel

    # given a customer's photo and a ticket for their conversation
    user = make_user()
    make_customer(user=user)
    client = Client()
    client.force_login(user)
    started = client.post("/api/v1/conversations/", {"channel": "web"}, content_type="application/json").json()
    _upload(client, started["conversation"], _png(), "dent.png")
    conversation = Conversation.objects.get(public_id=started["conversation"])
    ticket = support.ticket_create(
        subject="Damaged",
        description="see photo",
        category="other",
        conversation=conversation,
        created_by_label="agent",
    )
    attachment = AttachmentModel.objects.get()
    # when an admin opens the ticket
    admin = make_user(staff=True)
    admin.is_superuser = True
    admin.save()
    staff_client = Client()
    staff_client.force_login(admin)
    body = staff_client.get(f"/admin/support/ticket/{ticket.pk}/change/").content.decode()
    # then the photo is shown as a thumbnail linking to the full image
    src = f"/chat/attachments/{attachment.public_id}/"
    assert (
        f'<a href="{src}" target="_blank" rel="noopener"><img src="{src}" alt="Photo from the customer: dent.png"'
        in body
    )
    assert staff_client.get(src).status_code == 200


def test_a_failure_after_the_file_was_written_leaves_no_row_and_no_file(turns, media_root, monkeypatch):
    from apps.conversations import attachments

    # given a guest's conversation, and the audit write failing after the file was stored
    _, started = _guest_conversation()
    conversation = Conversation.objects.get(public_id=started["conversation"])

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(attachments.ConversationEvent.objects, "create", broken)
    # when the photo is stored
    with pytest.raises(RuntimeError):
        attachments.attachment_create(conversation=conversation, data=_png(), filename="a.png", client_message_id="x1")
    # then nothing of it is left: no attachment, no message, no file
    assert Attachment.objects.count() == 0
    assert Message.objects.count() == 0
    assert [p for p in Path(media_root).rglob("*") if p.is_file()] == []
    assert turns == []


def test_photos_count_against_the_customers_message_limit(turns, settings):
    settings.CHAT_RATE_PER_CUSTOMER = "1/m"
    client, started = _guest_conversation()
    assert _upload(client, started["conversation"], _png(), "a.png", client_id="p-1").status_code == 201
    second = _upload(client, started["conversation"], _png(), "b.png", client_id="p-2")
    assert second.status_code == 429
    assert second.json()["error"]["code"] == "rate_limited"
    assert Attachment.objects.count() == 1
