"""Staff live console `/console/`: the queue, one conversation, take over, reply, hand back, close."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.conversations import selectors, services, traces
from apps.conversations.models import Conversation
from apps.core.errors import ApplicationError
from apps.support.services import chat_close, chat_hand_back, chat_take_over

TAKEOVER = "conversations.takeover_conversation"


def staff_only(view):  # type: ignore[no-untyped-def]
    return login_required(permission_required(TAKEOVER, raise_exception=True)(view), login_url="/admin/login/")


def _get(public_id: str) -> Conversation:
    return get_object_or_404(
        Conversation.objects.select_related("customer", "verified_order", "assigned_to"), public_id=public_id
    )


@require_GET
@staff_only
def console(request: HttpRequest, public_id: str | None = None) -> HttpResponse:
    conversation = _get(public_id) if public_id else None
    context = {
        "queue": selectors.console_queue(),
        "conversation": conversation,
        "transcript": selectors.transcript(conversation=conversation) if conversation else [],
        "resolution_codes": settings.CHAT_RESOLUTION_CODES,
        "trace_installed": traces.trace_model() is not None,
    }
    return render(request, "conversations/console.html", context)


@require_GET
@staff_only
def console_queue(request: HttpRequest) -> HttpResponse:
    """The queue as an HTML fragment, re-fetched by the page when the staff socket says it changed."""
    return render(request, "conversations/_queue.html", {"queue": selectors.console_queue()})


def _act(request: HttpRequest, public_id: str, action) -> HttpResponse:  # type: ignore[no-untyped-def]
    conversation = _get(public_id)
    wants_json = request.headers.get("Accept", "").startswith("application/json")
    try:
        action(conversation)
    except ApplicationError as exc:
        if wants_json:
            return JsonResponse({"error": {"code": exc.code, "message": exc.message}}, status=400)
        flash.error(request, exc.message)
    else:
        if wants_json:
            return JsonResponse({"ok": True})
    return redirect("conversations:console-detail", public_id=conversation.public_id)


@require_POST
@staff_only
def takeover(request: HttpRequest, public_id: str) -> HttpResponse:
    return _act(request, public_id, lambda c: chat_take_over(conversation=c, staff=request.user))


@require_POST
@staff_only
def reply(request: HttpRequest, public_id: str) -> HttpResponse:
    return _act(
        request,
        public_id,
        lambda c: services.message_create_staff(
            conversation=c,
            staff=request.user,
            text=request.POST.get("text", ""),
            client_message_id=request.POST.get("client_message_id", "")[:64],
        ),
    )


@require_POST
@staff_only
def hand_back(request: HttpRequest, public_id: str) -> HttpResponse:
    return _act(request, public_id, lambda c: chat_hand_back(conversation=c, staff=request.user))


@require_POST
@staff_only
def close(request: HttpRequest, public_id: str) -> HttpResponse:
    return _act(
        request,
        public_id,
        lambda c: chat_close(
            conversation=c, staff=request.user, resolution_code=request.POST.get("resolution_code", "")
        ),
    )
