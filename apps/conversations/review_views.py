"""Operator transcript review `/review/`: filter, read with traces inline, flag a reply, export JSON.

Everything customer-written is shown masked (`operator_view`): names, addresses, phones and the rest.
"""

from __future__ import annotations

import datetime as dt
import json

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from apps.conversations import events, selectors, services, traces
from apps.conversations.models import Conversation, ConversationStatus, Route
from apps.conversations.operator_view import (
    operator_conversation_fields,
    operator_data,
    operator_message,
    operator_rows,
)
from apps.conversations.selectors import ReviewFilters
from apps.core.errors import ApplicationError

REVIEW = "conversations.review_conversation"


def operators_only(view):  # type: ignore[no-untyped-def]
    return login_required(permission_required(REVIEW, raise_exception=True)(view), login_url="/admin/login/")


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _float(value: str) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _filters(request: HttpRequest) -> ReviewFilters:
    g = request.GET
    return ReviewFilters(
        q=g.get("q", "").strip()[:200],
        date_from=_date(g.get("from", "")),
        date_to=_date(g.get("to", "")),
        route=g.get("route", "") if g.get("route", "") in Route.values else "",
        status=g.get("status", "")[:40],
        escalated=g.get("escalated", "") if g.get("escalated", "") in ("yes", "no") else "",
        feedback=g.get("feedback", "") if g.get("feedback", "") in ("up", "down", "flagged", "csat_low") else "",
        min_cost=_float(g.get("min_cost", "")),
        customer=g.get("customer", "").strip()[:200],
    )


@require_GET
@operators_only
def review_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    page = Paginator(selectors.review_list(filters=filters), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "conversations/review_list.html",
        {
            "page": page,
            "filters": filters,
            "routes": Route.choices,
            "statuses": ConversationStatus.choices,
            "query": query.urlencode(),
        },
    )


def _get(public_id: str) -> Conversation:
    return get_object_or_404(
        Conversation.objects.select_related("customer", "verified_order", "assigned_to"), public_id=public_id
    )


@require_GET
@operators_only
def review_detail(request: HttpRequest, public_id: str) -> HttpResponse:
    conversation = _get(public_id)
    return render(
        request,
        "conversations/review_detail.html",
        {
            "conversation": conversation,
            "transcript": operator_rows(selectors.transcript(conversation=conversation, mask=operator_data)),
            "masked": operator_conversation_fields(conversation),
        },
    )


@require_POST
@operators_only
def review_flag(request: HttpRequest, public_id: str, message_id: int) -> HttpResponse:
    conversation = _get(public_id)
    message = get_object_or_404(conversation.messages, pk=message_id)
    try:
        services.reply_flag_create(message=message, operator=request.user, note=request.POST.get("note", "")[:4000])
    except ApplicationError as exc:
        flash.error(request, exc.message)
    else:
        flash.success(request, "Reply flagged.")
    return redirect("conversations:review-detail", public_id=conversation.public_id)


@require_GET
@operators_only
def review_step(request: HttpRequest, public_id: str, span_id: int) -> HttpResponse:
    """A trace step's raw data, fetched when its JSON toggle opens."""
    data = traces.step_data(conversation=_get(public_id), span_id=span_id)
    if data is None:
        raise Http404("No such step.")
    return JsonResponse(
        operator_data(data), encoder=DjangoJSONEncoder, safe=False, json_dumps_params={"ensure_ascii": False}
    )


@require_GET
@operators_only
def review_export(request: HttpRequest, public_id: str) -> HttpResponse:
    conversation = _get(public_id)
    rows = selectors.transcript(conversation=conversation)
    masked = operator_conversation_fields(conversation)
    payload = {
        "conversation": str(conversation.public_id),
        "channel": conversation.channel,
        "status": conversation.status,
        "route": conversation.current_route,
        "resolution_code": conversation.resolution_code,
        "customer": conversation.customer.email if conversation.customer_id else None,
        "verified_order": conversation.verified_order.number if conversation.verified_order_id else None,
        "created_at": conversation.created_at,
        "closed_at": conversation.closed_at,
        "csat": {"score": conversation.csat_score, "comment": masked["csat_comment"]},
        "summary": masked["summary"],
        "messages": [
            {
                **events.message_payload(operator_message(row["message"])),
                "feedback": row["feedback"] or None,
                "flags": [
                    {"note": f.note, "by": str(f.flagged_by or ""), "at": f.created_at.isoformat()}
                    for f in row["flags"]
                ],
            }
            for row in rows
        ],
        "traces": operator_data(traces.trace_export(conversation=conversation)),
    }
    response = HttpResponse(
        json.dumps(payload, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="conversation-{conversation.public_id}.json"'
    return response
