"""Customer pages: the chat page, the widget's frame, and sign-out that also ends open chats."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from apps.conversations.consumers import session_group
from apps.conversations.identity import identity_resolve
from apps.core.errors import ApplicationError


def _ensure_session(request: HttpRequest) -> None:
    # A guest needs a session before the socket opens so a verified order can be remembered.
    if not request.session.session_key:
        request.session["chat"] = True


def _context(request: HttpRequest, *, embedded: bool) -> dict:
    try:
        ident = identity_resolve(session=request.session)
    except ApplicationError:
        ident = None
    return {
        "embedded": embedded,
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
