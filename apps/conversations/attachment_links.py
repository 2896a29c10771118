"""Signed, time-limited links to a chat photo: made for the conversation's own sockets and pages, checked on download.

Apart from `attachments` (which stores photos through the services) so that the socket events can link a
photo without importing the writers.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from apps.conversations.models import Attachment

URL_SALT = "conversations.attachment"


def attachment_url(attachment: Attachment) -> str:
    """A link to the photo that works for a limited time (CHAT_ATTACHMENT_LINK_MAX_AGE_SECONDS)."""
    token = signing.dumps(str(attachment.public_id), salt=URL_SALT, compress=False)
    return reverse("conversations:attachment", args=[attachment.public_id]) + "?t=" + token


def attachment_link_valid(attachment: Attachment, token: str) -> bool:
    try:
        value = signing.loads(token or "", salt=URL_SALT, max_age=settings.CHAT_ATTACHMENT_LINK_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return False
    return value == str(attachment.public_id)
