"""Staff live console `/console/`: the queue, one conversation with the customer beside it, take over,
reply (saved replies), internal notes, assignment, hand back, close. Thin: parse, call one service, render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from apps.conversations import selectors as conversation_selectors
from apps.conversations import services as conversation_services
from apps.conversations.models import Conversation
from apps.core.errors import ApplicationError
from apps.support import selectors
from apps.support.services import chat_close, chat_hand_back, chat_take_over
from apps.support.services import console as console_services

TAKEOVER = console_services.CONSOLE_PERMISSION


def staff_only(view):  # type: ignore[no-untyped-def]
    return login_required(permission_required(TAKEOVER, raise_exception=True)(view), login_url="/admin/login/")


def _get(public_id: str) -> Conversation:
    return get_object_or_404(
        Conversation.objects.select_related("customer", "verified_order", "assigned_to"), public_id=public_id
    )


def _scope(request: HttpRequest) -> str:
    scope = request.GET.get("scope", "all")
    return scope if scope in selectors.QUEUE_SCOPES else "all"


def _queue_context(request: HttpRequest) -> dict[str, Any]:
    scope = _scope(request)
    return {
        "queue": selectors.console_queue(user=request.user, scope=scope),
        "scope": scope,
        "counts": selectors.console_queue_counts(user=request.user),
        "scopes": selectors.QUEUE_SCOPES,
    }


@require_GET
@staff_only
def console(request: HttpRequest, public_id: str | None = None) -> HttpResponse:
    conversation = _get(public_id) if public_id else None
    context: dict[str, Any] = {**_queue_context(request), "conversation": conversation}
    if conversation is not None:
        context.update(
            transcript=conversation_selectors.transcript(conversation=conversation),
            sidebar=selectors.customer_sidebar(conversation=conversation),
            notes=selectors.internal_notes(conversation=conversation),
            saved_replies=selectors.saved_replies_active(),
            staff=selectors.console_staff() if request.user.has_perm(console_services.ASSIGN_OTHERS_PERMISSION) else [],
            may_add_notes=request.user.has_perm("support.add_internalnote"),
            resolution_codes=settings.CHAT_RESOLUTION_CODES,
        )
    return render(request, "support/console.html", context)


@require_GET
@staff_only
def console_queue(request: HttpRequest) -> HttpResponse:
    """The queue as an HTML fragment, re-fetched by the page when the staff socket says it changed."""
    return render(request, "support/_queue.html", _queue_context(request))


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
    url = reverse("support:console-detail", kwargs={"public_id": conversation.public_id})
    scope = request.POST.get("scope", "")
    return redirect(f"{url}?scope={scope}" if scope in selectors.QUEUE_SCOPES else url)


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
        lambda c: conversation_services.message_create_staff(
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


@require_POST
@staff_only
def note(request: HttpRequest, public_id: str) -> HttpResponse:
    return _act(
        request,
        public_id,
        lambda c: console_services.internal_note_create(
            conversation=c, author=request.user, text=request.POST.get("text", "")[:8000]
        ),
    )


def _assignee_id(value: str, user: Any) -> int | None:
    if value == "me":
        return user.pk
    if value in ("", "none"):
        return None
    if value.isdigit():
        return int(value)
    raise ApplicationError("Choose someone to assign.", code="invalid_assignee")


@require_POST
@staff_only
def assign(request: HttpRequest, public_id: str) -> HttpResponse:
    return _act(
        request,
        public_id,
        lambda c: console_services.console_assign(
            conversation=c, actor=request.user, assignee_id=_assignee_id(request.POST.get("assignee", ""), request.user)
        ),
    )
