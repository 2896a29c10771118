"""JSON API `/api/v1/`: start a conversation, post a message, read the transcript (for integrations and tests).

One class per operation: validate input, resolve the caller's identity, call a
service or selector, serialize. Identity is the same as the socket's: the
Django session, or `X-Chat-Identity: <shop-signed token>`; a guest reaches
their conversation again with `X-Chat-Access: <access key>` from the start
response. Replies arrive asynchronously: poll the transcript with `after_seq`
or use the WebSocket.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.conversations import events, identity, ratelimits, selectors, services
from apps.conversations.identity import ChatIdentity
from apps.conversations.models import Channel, Conversation, ConversationStatus, FeedbackRating
from apps.core.errors import ApplicationError, NotFound, PermissionDenied

IDENTITY_HEADER = "X-Chat-Identity"
ACCESS_HEADER = "X-Chat-Access"

_HEADERS = [
    OpenApiParameter(IDENTITY_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, description="Shop-signed token"),
    OpenApiParameter(ACCESS_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, description="Guest access key"),
]


class MessageOut(serializers.Serializer):
    id = serializers.IntegerField()
    seq = serializers.IntegerField()
    role = serializers.CharField()
    text = serializers.CharField()
    html = serializers.CharField(help_text="the text as sanitised HTML (docs/chat-protocol.md); empty for customers")
    agent = serializers.CharField()
    citations = serializers.ListField(child=serializers.JSONField())
    client_message_id = serializers.CharField(allow_null=True)
    in_reply_to = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    data = serializers.JSONField()
    attachments = serializers.ListField(child=serializers.JSONField())


class ConversationOut(serializers.Serializer):
    conversation = serializers.UUIDField()
    access = serializers.CharField()
    status = serializers.ChoiceField(choices=ConversationStatus.choices)
    verified_order = serializers.CharField(allow_null=True)
    csat_score = serializers.IntegerField(allow_null=True)


class TranscriptOut(ConversationOut):
    messages = MessageOut(many=True)
    feedback = serializers.DictField(child=serializers.ChoiceField(choices=FeedbackRating.choices))


ErrorOut = inline_serializer(
    "Error",
    {"error": inline_serializer("ErrorBody", {"code": serializers.CharField(), "message": serializers.CharField()})},
)


def error_response(exc: ApplicationError) -> Response:
    code = (
        status.HTTP_404_NOT_FOUND
        if isinstance(exc, NotFound)
        else status.HTTP_403_FORBIDDEN
        if isinstance(exc, PermissionDenied) or exc.code == "invalid_identity"
        else status.HTTP_429_TOO_MANY_REQUESTS
        if exc.code == "rate_limited"
        else status.HTTP_503_SERVICE_UNAVAILABLE
        if exc.code == "busy"
        else status.HTTP_400_BAD_REQUEST
    )
    if "retry_after" in exc.extra:  # `busy`: the turn queue is full; send the same message again then
        body = {"code": exc.code, "message": exc.message, "retry_after": exc.extra["retry_after"]}
        return Response({"error": body}, status=code, headers={"Retry-After": str(exc.extra["retry_after"])})
    return Response({"error": {"code": exc.code, "message": exc.message}}, status=code)


def _conversation_out(conversation: Conversation) -> dict[str, Any]:
    return {
        "conversation": str(conversation.public_id),
        "access": identity.access_key_for(conversation),
        "status": conversation.status,
        "verified_order": conversation.verified_order.number if conversation.verified_order_id else None,
        "csat_score": conversation.csat_score,
    }


class BoundedJSONParser(JSONParser):
    """JSON bodies, with a nesting too deep for the decoder answered as a 400 like any other malformed body."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None


class ChatAPIView(APIView):
    """Shared plumbing: identity from the session or the shop's token, ApplicationError → JSON."""

    parser_classes = [BoundedJSONParser]

    def identity(self, request: Request, *, start_session: bool = False) -> ChatIdentity:
        # Only starting a conversation opens a session (a browser keeps it; a server integration
        # without cookies uses the access key instead and would otherwise leave a session per call).
        if start_session and not request.session.session_key:
            request.session["chat"] = True
            request.session.save()
        return identity.identity_resolve(
            session=request.session, identity_token=request.headers.get(IDENTITY_HEADER, "")
        )

    def conversation(self, request: Request, public_id: Any, ident: ChatIdentity) -> Conversation:
        return selectors.conversation_get_for_identity(
            identity=ident, public_id=public_id, access_key=request.headers.get(ACCESS_HEADER, "")
        )

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ApplicationError):
            return error_response(exc)
        return super().handle_exception(exc)


class ConversationStartAPI(ChatAPIView):
    class ConversationStartInput(serializers.Serializer):
        channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.API)

    @extend_schema(
        operation_id="conversation_start",
        request=ConversationStartInput,
        parameters=_HEADERS,
        responses={201: ConversationOut, 403: ErrorOut, 429: ErrorOut},
    )
    def post(self, request: Request) -> Response:
        data = self._validated(request)
        ratelimits.check_conversation_start(ip=ratelimits.client_ip_from_request(request))
        ident = self.identity(request, start_session=True)
        conversation = services.conversation_start(
            customer=ident.customer,
            verified_order=ident.verified_order,
            session_key=ident.session_key,
            channel=data["channel"],
            client_ip=ratelimits.client_ip_from_request(request),
        )
        return Response(_conversation_out(conversation), status=status.HTTP_201_CREATED)

    def _validated(self, request: Request) -> dict[str, Any]:
        serializer = self.ConversationStartInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class ConversationDetailAPI(ChatAPIView):
    @extend_schema(
        operation_id="conversation_transcript",
        parameters=[
            *_HEADERS,
            OpenApiParameter("after_seq", OpenApiTypes.INT, description="Only messages after this seq"),
        ],
        responses={200: TranscriptOut, 404: ErrorOut},
    )
    def get(self, request: Request, public_id: str) -> Response:
        ident = self.identity(request)
        conversation = self.conversation(request, public_id, ident)
        try:
            after = max(int(request.query_params.get("after_seq", 0)), 0)
        except ValueError:
            after = 0
        messages = selectors.messages_after(conversation=conversation, seq=after)
        feedback = selectors.feedback_by_message(conversation=conversation)
        return Response(
            {
                **_conversation_out(conversation),
                "messages": [events.message_payload(m) for m in messages],
                "feedback": {str(k): v for k, v in feedback.items()},
            }
        )


class MessagePostAPI(ChatAPIView):
    class MessagePostInput(serializers.Serializer):
        client_message_id = serializers.CharField(max_length=64)
        text = serializers.CharField(max_length=services.MAX_MESSAGE_CHARS, trim_whitespace=True)

    @extend_schema(
        operation_id="message_post",
        request=MessagePostInput,
        parameters=_HEADERS,
        responses={201: MessageOut, 200: MessageOut, 400: ErrorOut, 404: ErrorOut, 429: ErrorOut, 503: ErrorOut},
        description="Idempotent on client_message_id: a resend returns the stored message (200) and is not answered "
        "twice. 503 `busy` (with Retry-After): the turn queue is full, nothing was stored; send it again then.",
    )
    def post(self, request: Request, public_id: str) -> Response:
        serializer = self.MessagePostInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        ident = self.identity(request)
        conversation = self.conversation(request, public_id, ident)
        ratelimits.check_message(
            ip=ratelimits.client_ip_from_request(request),
            actor=ident.actor_key or f"conversation:{conversation.public_id}",
        )
        message, created = services.message_accept_customer(
            conversation=conversation,
            text=serializer.validated_data["text"],
            client_message_id=serializer.validated_data["client_message_id"],
        )
        return Response(
            events.message_payload(message), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class VerifyAPI(ChatAPIView):
    class VerifyInput(serializers.Serializer):
        order_number = serializers.CharField(max_length=40)
        email = serializers.EmailField(max_length=254)

    @extend_schema(
        operation_id="conversation_verify_guest",
        request=VerifyInput,
        parameters=_HEADERS,
        responses={200: ConversationOut, 400: ErrorOut, 404: ErrorOut, 429: ErrorOut},
    )
    def post(self, request: Request, public_id: str) -> Response:
        serializer = self.VerifyInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        ident = self.identity(request)
        conversation = self.conversation(request, public_id, ident)
        # Counted per session (else conversation), per address, per order number and per email: a client
        # without cookies that opens new conversations still meets the same address/order/email counters.
        ratelimits.check_verify(
            ip=ratelimits.client_ip_from_request(request),
            actor=ident.session_key or f"conversation:{conversation.public_id}",
            order_number=serializer.validated_data["order_number"],
            email=serializer.validated_data["email"],
        )
        session = request.session if request.session.session_key else None
        order = identity.guest_verify(session=session, **serializer.validated_data)
        conversation = services.conversation_bind_verified_order(conversation=conversation, order=order)
        return Response(_conversation_out(conversation))


class FeedbackAPI(ChatAPIView):
    class FeedbackInput(serializers.Serializer):
        message = serializers.IntegerField()
        rating = serializers.ChoiceField(choices=FeedbackRating.choices)
        comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="feedback_record",
        request=FeedbackInput,
        parameters=_HEADERS,
        responses={
            200: inline_serializer(
                "FeedbackOut", {"message": serializers.IntegerField(), "rating": serializers.CharField()}
            )
        },
    )
    def post(self, request: Request, public_id: str) -> Response:
        serializer = self.FeedbackInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation = self.conversation(request, public_id, self.identity(request))
        feedback = services.feedback_record(
            conversation=conversation,
            message_id=serializer.validated_data["message"],
            rating=serializer.validated_data["rating"],
            comment=serializer.validated_data["comment"],
        )
        return Response({"message": feedback.message_id, "rating": feedback.rating})


class CsatAPI(ChatAPIView):
    class CsatInput(serializers.Serializer):
        score = serializers.IntegerField(min_value=1, max_value=5)
        comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="conversation_rate",
        request=CsatInput,
        parameters=_HEADERS,
        responses={200: ConversationOut, 400: ErrorOut},
    )
    def post(self, request: Request, public_id: str) -> Response:
        serializer = self.CsatInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        conversation = self.conversation(request, public_id, self.identity(request))
        conversation = services.conversation_rate(conversation=conversation, **serializer.validated_data)
        return Response(_conversation_out(conversation))
