"""`POST /api/v1/conversations/{id}/attachments/`: a customer sends a photo (multipart), stored with a message."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.conversations import events, ratelimits
from apps.conversations.api import _HEADERS, ChatAPIView, ErrorOut, MessageOut
from apps.conversations.attachments import attachment_create
from apps.conversations.services import MAX_MESSAGE_CHARS


class AttachmentPostAPI(ChatAPIView):
    parser_classes = [MultiPartParser]

    class AttachmentPostInput(serializers.Serializer):
        file = serializers.FileField(allow_empty_file=False)
        client_message_id = serializers.CharField(max_length=64)
        text = serializers.CharField(max_length=MAX_MESSAGE_CHARS, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="attachment_post",
        request={"multipart/form-data": AttachmentPostInput},
        parameters=_HEADERS,
        responses={201: MessageOut, 200: MessageOut, 400: ErrorOut, 404: ErrorOut, 429: ErrorOut},
        description="A photo (JPEG, PNG or WebP; the type is read from the bytes) with an optional caption, stored "
        "as a customer message with `attachments`. Idempotent on client_message_id.",
    )
    def post(self, request: Request, public_id: str) -> Response:
        ident = self.identity(request)
        conversation = self.conversation(request, public_id, ident)
        serializer = self.AttachmentPostInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        # A photo counts as a message: the same per-address and per-customer limits as the socket and the API.
        ratelimits.check_message(
            ip=ratelimits.client_ip_from_request(request),
            actor=ident.actor_key or f"conversation:{conversation.public_id}",
        )
        upload = serializer.validated_data["file"]
        message, created = attachment_create(
            conversation=conversation,
            # One byte over the limit is enough to refuse; never read more than that.
            data=upload.read(settings.CHAT_ATTACHMENT_MAX_BYTES + 1),
            filename=upload.name or "",
            client_message_id=serializer.validated_data["client_message_id"],
            text=serializer.validated_data["text"],
        )
        return Response(
            events.message_payload(message), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
