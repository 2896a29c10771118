"""Photos customers send in the chat: checked, stored under MEDIA_ROOT, linked to a customer message.

`attachment_create` is the one writer. The type is sniffed from the bytes (Pillow must open and verify
the image, and its format decides the type; the file name and the browser's content type are ignored),
the size and pixel count are capped, and the file is stored under a random name. The bytes are served
only by `apps.conversations.views.attachment_download`, to staff who may work conversations, or to
whoever holds a signed link (`attachment_url`), which only the conversation's own sockets and pages get.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from PIL import Image, UnidentifiedImageError

from apps.conversations import services
from apps.conversations.models import Attachment, Conversation, ConversationEvent, Message
from apps.core.errors import ApplicationError

# Pillow format -> the content type we store and serve.
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
MAX_NAME_CHARS = 120


def _sniff(data: bytes) -> tuple[str, int, int]:
    """(content type, width, height) of an allowed image, or ApplicationError."""
    allowed = {t.strip().lower() for t in settings.CHAT_ATTACHMENT_TYPES}
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or ""
            width, height = image.size
            image.verify()  # a truncated or corrupt file fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ApplicationError(
            "That file is not a photo we can take (JPEG, PNG or WebP).", code="invalid_type"
        ) from None
    content_type = IMAGE_TYPES.get(fmt, "")
    if content_type not in allowed:
        raise ApplicationError("That file is not a photo we can take (JPEG, PNG or WebP).", code="invalid_type")
    if width * height > settings.CHAT_ATTACHMENT_MAX_PIXELS:
        raise ApplicationError("That photo is too large; send a smaller one.", code="too_large")
    return content_type, width, height


def _clean_name(name: str) -> str:
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:MAX_NAME_CHARS]


def attachment_create(
    *, conversation: Conversation, data: bytes, filename: str, client_message_id: str, text: str = ""
) -> tuple[Message, bool]:
    """Store a customer's photo with a message of its own; (message, created). Idempotent on the client id."""
    if len(data) > settings.CHAT_ATTACHMENT_MAX_BYTES:
        limit = settings.CHAT_ATTACHMENT_MAX_BYTES // (1024 * 1024)
        raise ApplicationError(f"That photo is larger than {limit} MB.", code="too_large")
    if not data:
        raise ApplicationError("The file is empty.", code="empty_file")
    existing = conversation.messages.filter(client_message_id=client_message_id).first() if client_message_id else None
    if existing is not None:
        return existing, False
    content_type, width, height = _sniff(data)
    name = _clean_name(filename)
    caption = (text or "").strip() or f"Sent a photo{': ' + name if name else ''}"
    attachment: Attachment | None = None
    try:
        with transaction.atomic():
            message, created = services.message_accept_customer(
                conversation=conversation, text=caption, client_message_id=client_message_id
            )
            if not created:
                return message, False
            attachment = Attachment(
                conversation=conversation,
                message=message,
                content_type=content_type,
                original_name=name,
                size=len(data),
                width=width,
                height=height,
            )
            attachment.file.save("upload", ContentFile(data), save=False)
            attachment.save()
            ConversationEvent.objects.create(
                conversation=conversation,
                action="attachment_added",
                data={"attachment": str(attachment.public_id), "message": message.pk, "size": len(data)},
            )
    except Exception:
        # The rows were rolled back: do not leave their file behind.
        if attachment is not None and attachment.file.name:
            attachment.file.storage.delete(attachment.file.name)
        raise
    return message, True


def attachments_for_conversation(*, conversation: Any) -> list[Attachment]:
    """Every photo of a conversation, oldest first (for staff pages)."""
    if conversation is None:
        return []
    return list(Attachment.objects.filter(conversation=conversation).select_related("message").order_by("created_at"))


def attachments_html(conversation: Any) -> str:
    """Thumbnails of a conversation's photos for staff pages (the admin's approvals and tickets)."""
    from django.utils.html import format_html, format_html_join

    photos = attachments_for_conversation(conversation=conversation)
    if not photos:
        return "–"
    return format_html(
        '<div class="chat-photos">{}</div>',
        format_html_join(
            "",
            '<a href="{0}" target="_blank" rel="noopener"><img src="{0}" alt="Photo from the customer: {1}" '
            'width="120" height="{2}" loading="lazy"></a>',
            (
                (
                    reverse("conversations:attachment", args=[a.public_id]),
                    a.original_name or "photo",
                    max(1, round(120 * a.height / max(a.width, 1))),
                )
                for a in photos
            ),
        ),
    )
