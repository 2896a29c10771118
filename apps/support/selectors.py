"""Reads of the support desk. Customer-facing reads take the customer scope as an argument."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.commerce.models import Customer, Order
from apps.conversations.models import Conversation
from apps.core.errors import NotFound
from apps.support.models import (
    ACTIVE_ESCALATION_STATUSES,
    ApprovalStatus,
    Escalation,
    RefundApproval,
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
