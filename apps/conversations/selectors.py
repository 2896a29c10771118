"""Reads on conversations: what a customer may see, the console's queue, the review list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet

from apps.conversations import traces
from apps.conversations.identity import ChatIdentity, can_access
from apps.conversations.models import (
    Conversation,
    ConversationEvent,
    ConversationStatus,
    Feedback,
    FeedbackRating,
    Message,
    MessageRole,
    ReplyFlag,
)
from apps.core.errors import NotFound


def conversation_get_for_identity(*, identity: ChatIdentity, public_id: Any, access_key: str = "") -> Conversation:
    """The caller's conversation, or NotFound (never say whether it exists)."""
    conversation = (
        Conversation.objects.select_related("customer", "verified_order").filter(public_id=public_id).first()
        if _is_uuid(public_id)
        else None
    )
    if conversation is None or not can_access(identity=identity, conversation=conversation, access_key=access_key):
        raise NotFound("No such conversation.")
    return conversation


@cache
def _reread_sql() -> str:
    fields = ", ".join(f"c.{connection.ops.quote_name(f.column)}" for f in Conversation._meta.concrete_fields)
    return (
        f"SELECT {fields}, (SELECT m.id FROM {Message._meta.db_table} m "  # noqa: S608 - names from the models
        f"WHERE m.conversation_id = c.id AND m.client_message_id = %s) "
        f"FROM {Conversation._meta.db_table} c WHERE c.id = %s"
    )


def conversation_reread(*, conversation: Conversation, client_message_id: str) -> int | None:
    """Re-read the conversation's row into `conversation` (as `refresh_from_db` does) and return the id of its
    message stored under `client_message_id`, if any: one statement instead of two, every customer message."""
    if conversation.get_deferred_fields():
        conversation.refresh_from_db()
        return conversation.messages.filter(client_message_id=client_message_id).values_list("pk", flat=True).first()
    with connection.cursor() as cursor:
        cursor.execute(_reread_sql(), [client_message_id, conversation.pk])
        row = cursor.fetchone()
    if row is None:
        raise Conversation.DoesNotExist("Conversation matching query does not exist.")
    conversation._prefetched_objects_cache = {}
    for field, value in zip(Conversation._meta.concrete_fields, row, strict=False):
        setattr(conversation, field.attname, value)
        if field.is_relation and field.is_cached(conversation):
            field.delete_cached_value(conversation)
    for rel in Conversation._meta.related_objects:
        if rel.is_cached(conversation):
            rel.delete_cached_value(conversation)
    return row[-1]


def conversation_latest_for_identity(*, identity: ChatIdentity) -> Conversation | None:
    """Where a returning customer picks up: their latest conversation that is not closed."""
    qs = Conversation.objects.select_related("customer", "verified_order").exclude(status=ConversationStatus.CLOSED)
    if identity.customer is not None:
        qs = qs.filter(customer=identity.customer)
    elif identity.session_key:
        qs = qs.filter(customer__isnull=True, session_key=identity.session_key)
    else:
        return None
    return qs.order_by("-created_at").first()


def _is_uuid(value: Any) -> bool:
    import uuid

    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def messages_after(*, conversation: Conversation, seq: int, limit: int = 500) -> list[Message]:
    """Stored messages a client has not seen, in order."""
    return list(
        conversation.messages.filter(seq__gt=max(int(seq), 0)).prefetch_related("attachments").order_by("seq")[:limit]
    )


def messages_between(*, conversation: Conversation, after: int, upto: int) -> list[Message]:
    return list(
        conversation.messages.filter(seq__gt=after, seq__lte=upto).prefetch_related("attachments").order_by("seq")
    )


def feedback_by_message(*, conversation: Conversation) -> dict[int, str]:
    return dict(Feedback.objects.filter(conversation=conversation).values_list("message_id", "rating"))


# --- operator review ---------------------------------------------------------
@dataclass
class ReviewFilters:
    q: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    route: str = ""
    status: str = ""
    escalated: str = ""  # "yes" / "no" / ""
    feedback: str = ""  # "up" / "down" / "flagged" / "csat_low" / ""
    min_cost: float | None = None
    customer: str = ""


def review_list(*, filters: ReviewFilters) -> QuerySet[Conversation]:
    escalated = Q(status__in=[ConversationStatus.WAITING_HUMAN, ConversationStatus.HUMAN]) | Exists(
        ConversationEvent.objects.filter(conversation=OuterRef("pk"), action="taken_over")
    )
    if (support_escalations := _escalation_subquery()) is not None:
        escalated |= Exists(support_escalations)
    qs = Conversation.objects.select_related("customer", "verified_order", "assigned_to").annotate(
        message_count=Count("messages", distinct=True),
        escalated=ExpressionWrapper(escalated, output_field=BooleanField()),
    )
    if filters.q:
        qs = qs.filter(Exists(Message.objects.filter(conversation=OuterRef("pk"), text__icontains=filters.q)))
    if filters.date_from:
        qs = qs.filter(created_at__date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(created_at__date__lte=filters.date_to)
    if filters.route:
        qs = qs.filter(current_route=filters.route)
    if filters.status:
        qs = qs.filter(Q(status=filters.status) | Q(resolution_code=filters.status))
    if filters.escalated == "yes":
        qs = qs.filter(escalated=True)
    elif filters.escalated == "no":
        qs = qs.filter(escalated=False)
    if filters.feedback in (FeedbackRating.UP, FeedbackRating.DOWN):
        qs = qs.filter(Exists(Feedback.objects.filter(conversation=OuterRef("pk"), rating=filters.feedback)))
    elif filters.feedback == "flagged":
        qs = qs.filter(Exists(ReplyFlag.objects.filter(conversation=OuterRef("pk"))))
    elif filters.feedback == "csat_low":
        qs = qs.filter(csat_score__lte=2)
    if filters.customer:
        qs = qs.filter(
            Q(customer__email__icontains=filters.customer)
            | Q(customer__last_name__icontains=filters.customer)
            | Q(verified_order__number__iexact=filters.customer)
        )
    qs = traces.annotate_cost(qs)
    if filters.min_cost is not None:
        qs = traces.filter_min_cost(qs, filters.min_cost)
    return qs.order_by("-created_at", "-id")


def _escalation_subquery() -> QuerySet | None:
    """Escalations live in the support app; until it is installed, a takeover counts as one."""
    from django.apps import apps

    try:
        escalation = apps.get_model("support", "Escalation")
    except LookupError:
        return None
    if "conversation" not in {f.name for f in escalation._meta.get_fields()}:
        return None
    return escalation.objects.filter(conversation=OuterRef("pk"))


def transcript(*, conversation: Conversation, mask: Callable[[Any], Any] | None = None) -> list[dict[str, Any]]:
    """Every message with its feedback, flags and (for bot replies) the trace of the turn; `mask` is applied
    to trace data before it is summarised (operator views, `operator_view`)."""
    messages = list(conversation.messages.select_related("author").prefetch_related("attachments").order_by("seq"))
    return _transcript_rows(conversation=conversation, messages=messages, mask=mask)


def transcript_row(*, conversation: Conversation, message_id: int) -> dict[str, Any] | None:
    """One message of `conversation` as `transcript` shows it (a message arriving live in the console)."""
    messages = list(
        conversation.messages.filter(pk=message_id).select_related("author").prefetch_related("attachments")
    )
    rows = _transcript_rows(conversation=conversation, messages=messages)
    return rows[0] if rows else None


def _transcript_rows(
    *, conversation: Conversation, messages: list[Message], mask: Callable[[Any], Any] | None = None
) -> list[dict[str, Any]]:
    ids = [m.pk for m in messages]
    feedback = dict(
        Feedback.objects.filter(conversation=conversation, message_id__in=ids).values_list("message_id", "rating")
    )
    flags: dict[int, list[ReplyFlag]] = {}
    for flag in ReplyFlag.objects.filter(conversation=conversation, message_id__in=ids).select_related("flagged_by"):
        flags.setdefault(flag.message_id, []).append(flag)
    trace_by_message = traces.traces_for(conversation=conversation, messages=messages, mask=mask)
    return [
        {
            "message": m,
            "feedback": feedback.get(m.pk, ""),
            "flags": flags.get(m.pk, []),
            "trace": trace_by_message.get(m.pk),
            "is_reply": m.role == MessageRole.ASSISTANT,
        }
        for m in messages
    ]
