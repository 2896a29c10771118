"""Reads of the support desk. Customer-facing reads take the customer scope as an argument."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from apps.commerce import selectors as commerce_selectors
from apps.commerce.models import Customer, Order, Refund, ReturnRequest
from apps.conversations.models import Conversation, ConversationStatus
from apps.core.errors import NotFound
from apps.support.models import (
    ACTIVE_ESCALATION_STATUSES,
    ApprovalStatus,
    Escalation,
    InternalNote,
    RefundApproval,
    SavedReply,
    Ticket,
    TicketStatus,
)

OPEN_TICKET_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


def refund_approval_list_for_customer(
    *, customer: Customer, order: Order | None = None, limit: int = 10
) -> list[RefundApproval]:
    """The customer's refund requests, newest first (for the agent's "refund status" answers)."""
    qs = RefundApproval.objects.filter(customer=customer).select_related("order", "refund")
    if order is not None:
        qs = qs.filter(order=order)
    return list(qs.order_by("-created_at", "-id")[:limit])


def refund_approval_get_for_customer(*, customer: Customer, approval_id: int) -> RefundApproval:
    approval = (
        RefundApproval.objects.filter(customer=customer, pk=approval_id).select_related("order", "refund").first()
    )
    if approval is None:
        raise NotFound("Refund request not found.")
    return approval


def refund_approval_queue() -> QuerySet[RefundApproval]:
    """Requests waiting for a decision, oldest first: the approvers' queue."""
    return (
        RefundApproval.objects.filter(status=ApprovalStatus.PENDING)
        .select_related("order", "customer", "conversation")
        .order_by("created_at", "id")
    )


def ticket_list_for_customer(*, customer: Customer, open_only: bool = True, limit: int = 10) -> list[Ticket]:
    qs = Ticket.objects.filter(customer=customer)
    if open_only:
        qs = qs.filter(status__in=OPEN_TICKET_STATUSES)
    return list(qs.order_by("-created_at", "-id")[:limit])


def escalation_list_active() -> QuerySet[Escalation]:
    """Escalations waiting for or handled by staff, oldest first (the staff console's live list)."""
    return (
        Escalation.objects.filter(status__in=ACTIVE_ESCALATION_STATUSES)
        .select_related("conversation", "conversation__customer", "taken_by")
        .order_by("created_at", "id")
    )


def escalation_get_active_for_conversation(*, conversation: Conversation) -> Escalation | None:
    return Escalation.objects.filter(conversation=conversation, status__in=ACTIVE_ESCALATION_STATUSES).first()


# --- the staff console --------------------------------------------------------------------------
QUEUE_SCOPES = ("all", "mine", "unassigned")


def console_queue(*, user: Any, scope: str = "all") -> QuerySet[Conversation]:
    """Escalated and human-held conversations, oldest wait first; `mine` / `unassigned` narrow it."""
    qs = (
        Conversation.objects.filter(status__in=[ConversationStatus.WAITING_HUMAN, ConversationStatus.HUMAN])
        .select_related("customer", "assigned_to", "verified_order")
        .annotate(message_count=Count("messages"))
        .order_by("updated_at", "id")
    )
    if scope == "mine":
        qs = qs.filter(assigned_to=user)
    elif scope == "unassigned":
        qs = qs.filter(assigned_to__isnull=True)
    return qs


def console_queue_counts(*, user: Any) -> dict[str, int]:
    waiting = Q(status__in=[ConversationStatus.WAITING_HUMAN, ConversationStatus.HUMAN])
    return Conversation.objects.filter(waiting).aggregate(
        all=Count("id"),
        mine=Count("id", filter=Q(assigned_to=user)),
        unassigned=Count("id", filter=Q(assigned_to__isnull=True)),
    )


@dataclass(frozen=True)
class CustomerSidebar:
    """What staff see beside a conversation: only what this conversation's customer may see."""

    orders: list[Order]
    returns: list[ReturnRequest]
    refunds: list[Refund]
    refund_requests: list[RefundApproval]
    tickets: list[Ticket]
    earlier_conversations: list[Conversation]


def customer_sidebar(*, conversation: Conversation, limit: int = 5) -> CustomerSidebar:
    """The conversation's customer through the commerce and support selectors, scoped like the bot is:
    a signed-in customer's account, or for a verified guest that one order only (nothing for a guest)."""
    customer = conversation.customer
    only_order = conversation.verified_order if customer is None else None
    if customer is None and only_order is None:
        return CustomerSidebar([], [], [], [], [], [])
    if only_order is not None:
        orders = [only_order]
    else:
        orders = commerce_selectors.order_list_for_customer(customer=customer, limit=limit)
    scope = {"customer": customer, "only_order": only_order, "limit": limit}
    requests = RefundApproval.objects.select_related("order")
    requests = requests.filter(order=only_order) if only_order is not None else requests.filter(customer=customer)
    tickets = (
        Ticket.objects.filter(orders=only_order) if only_order is not None else Ticket.objects.filter(customer=customer)
    )
    earlier = Conversation.objects.exclude(pk=conversation.pk)
    earlier = earlier.filter(customer=customer) if customer is not None else earlier.filter(verified_order=only_order)
    return CustomerSidebar(
        orders=orders,
        returns=commerce_selectors.return_list_for_customer(**scope),
        refunds=commerce_selectors.refund_list_for_customer(**scope),
        refund_requests=list(requests.order_by("-created_at", "-id")[:limit]),
        tickets=list(tickets.distinct().order_by("-created_at", "-id")[:limit]),
        earlier_conversations=list(earlier.order_by("-created_at", "-id")[:limit]),
    )


def internal_notes(*, conversation: Conversation) -> list[InternalNote]:
    return list(conversation.internal_notes.select_related("author").order_by("created_at", "id"))


def saved_replies_active() -> list[SavedReply]:
    return list(SavedReply.objects.filter(is_active=True).order_by("title"))


def console_staff() -> list[Any]:
    """Active staff who may work the console (the "assign to" choices)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    app_label, codename = "conversations", "takeover_conversation"
    perm = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
    users = get_user_model().objects.filter(is_active=True, is_staff=True)
    if perm is None:
        return list(users.filter(is_superuser=True).order_by("username"))
    return list(
        users.filter(Q(is_superuser=True) | Q(user_permissions=perm) | Q(groups__permissions=perm))
        .distinct()
        .order_by("username")
    )
