"""Customer pages: the chat page, the widget's frame, and sign-out that also ends open chats."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from apps.conversations.attachment_links import attachment_link_valid
from apps.conversations.consumers import session_group
from apps.conversations.identity import can_access, identity_resolve
from apps.conversations.models import Attachment
from apps.core.errors import ApplicationError


def _ensure_session(request: HttpRequest) -> None:
    # A guest needs a session before the socket opens so a verified order can be remembered.
    if not request.session.session_key:
        request.session["chat"] = True


# The greeting's suggestions: what customers ask most (each is a button that sends it).
SUGGESTED_QUESTIONS = (
    "Where is my order?",
    "How do I return an item?",
    "When will I get my refund?",
    "Talk to a person",
)
CSAT_LABELS = ((1, "Very poor"), (2, "Poor"), (3, "OK"), (4, "Good"), (5, "Excellent"))


def _context(request: HttpRequest, *, embedded: bool) -> dict:
    try:
        ident = identity_resolve(session=request.session)
    except ApplicationError:
        ident = None
    return {
        "embedded": embedded,
        "suggested_questions": SUGGESTED_QUESTIONS,
        "csat_labels": CSAT_LABELS,
        "attachment_max_bytes": settings.CHAT_ATTACHMENT_MAX_BYTES,
        "attachment_types": ",".join(settings.CHAT_ATTACHMENT_TYPES),
        "signed_in_name": ident.customer.first_name if ident is not None and ident.customer is not None else "",
        "verified_order": ident.verified_order.number if ident is not None and ident.verified_order else "",
    }


@require_GET
def chat_page(request: HttpRequest) -> HttpResponse:
    _ensure_session(request)
    return render(request, "conversations/chat.html", _context(request, embedded=False))


@require_GET
@xframe_options_exempt
def chat_embed(request: HttpRequest) -> HttpResponse:
    """The widget's iframe. Framing is allowed for the shop's own origins only."""
    _ensure_session(request)
    response = render(request, "conversations/chat.html", _context(request, embedded=True))
    ancestors = " ".join(["'self'", *settings.CHAT_WIDGET_FRAME_ANCESTORS])
    response["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' ws: wss:; frame-ancestors {ancestors}; base-uri 'self'; form-action 'self'; "
        "object-src 'none'"
    )
    return response


@require_GET
def widget_demo(request: HttpRequest) -> HttpResponse:
    """A host page with its own aggressive styles, to show the widget does not disturb them."""
    return render(request, "conversations/widget_demo.html")


# Staff who may see a conversation's photos: whoever works conversations, reviews them or decides refunds.
ATTACHMENT_STAFF_PERMISSIONS = (
    "conversations.takeover_conversation",
    "conversations.review_conversation",
    "conversations.view_conversation",
)


def _may_see_attachment(request: HttpRequest, attachment: Attachment) -> bool:
    user = request.user
    if (
        user.is_authenticated
        and user.is_active
        and user.is_staff
        and any(user.has_perm(p) for p in ATTACHMENT_STAFF_PERMISSIONS)
    ):
        return True
    if attachment_link_valid(attachment, request.GET.get("t", "")):
        return True
    try:
        ident = identity_resolve(session=request.session)
    except ApplicationError:
        return False
    return can_access(identity=ident, conversation=attachment.conversation)


@require_GET
def attachment_download(request: HttpRequest, public_id: str) -> FileResponse:
    """A customer's photo, for staff and for the conversation's owner only (404 for anyone else)."""
    attachment = Attachment.objects.select_related("conversation").filter(public_id=public_id).first()
    if attachment is None or not _may_see_attachment(request, attachment):
        raise Http404("No such attachment.")
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Content-Disposition"] = f'inline; filename="{attachment.public_id}.{attachment.extension}"'
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response


class LogoutView(auth_views.LogoutView):
    """Django's sign-out, then every chat socket of that browser session is told and closed."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        session_key = request.session.session_key
        response = super().post(request, *args, **kwargs)
        if session_key:
            transaction.on_commit(lambda: _end_session_sockets(session_key))
        return response


def _end_session_sockets(session_key: str) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(session_group(session_key), {"type": "session.ended"})
