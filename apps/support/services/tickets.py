"""Tickets: created by the agent, customers or staff; assigned and moved through their states by staff."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.commerce.models import Customer, Order
from apps.conversations.models import Conversation
from apps.core.errors import ApplicationError, NotFound, PermissionDenied
from apps.support.models import Ticket, TicketCategory, TicketPriority, TicketStatus
from apps.support.services.audit import actor_label_for, audit_record
from apps.support.services.notify import notify_staff

SUBJECT = "ticket"

TICKET_TRANSITIONS: dict[str, set[str]] = {
    TicketStatus.NEW: {TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.SOLVED, TicketStatus.CLOSED},
    TicketStatus.OPEN: {TicketStatus.PENDING, TicketStatus.SOLVED, TicketStatus.CLOSED},
    TicketStatus.PENDING: {TicketStatus.OPEN, TicketStatus.SOLVED, TicketStatus.CLOSED},
    TicketStatus.SOLVED: {TicketStatus.OPEN, TicketStatus.CLOSED},
    TicketStatus.CLOSED: set(),
}


def ticket_sla_due(*, priority: str, start: datetime) -> datetime:
    return start + timedelta(hours=settings.SUPPORT_TICKET_SLA_HOURS[priority])


def _check_choice(value: str, choices: type, code: str) -> str:
    if value not in choices.values:
        raise ApplicationError(f"{value!r} is not one of {', '.join(choices.values)}.", code=code)
    return value


def ticket_create(
    *,
    subject: str,
    description: str,
    category: str,
    priority: str = TicketPriority.NORMAL,
    customer: Customer | None = None,
    conversation: Conversation | None = None,
    orders: Iterable[Order] = (),
    created_by_label: str,
    created_by: Any = None,
) -> Ticket:
    """Open a ticket. Linked orders must be the customer's (or a guest's verified order)."""
    subject = " ".join((subject or "").split())
    description = (description or "").strip()
    if not subject or not description:
        raise ApplicationError("A ticket needs a subject and a description.", code="ticket_incomplete")
    if len(subject) > 200:
        raise ApplicationError("The subject is longer than 200 characters.", code="subject_too_long")
    _check_choice(category, TicketCategory, "invalid_category")
    _check_choice(priority, TicketPriority, "invalid_priority")
    if conversation is not None:
        if customer is None:
            customer = conversation.customer
        elif conversation.customer_id not in (None, customer.pk):
            raise ApplicationError("The conversation belongs to someone else.", code="conversation_mismatch")
    orders = list(orders)
    allowed_guest_order = conversation.verified_order_id if conversation is not None else None
    for order in orders:
        if customer is not None and order.customer_id == customer.pk:
            continue
        if customer is None and allowed_guest_order is not None and order.pk == allowed_guest_order:
            continue
        raise NotFound("Order not found.")
    if not created_by_label:
        created_by_label = actor_label_for(created_by)

    with transaction.atomic():
        now = timezone.now()
        ticket = Ticket(
            subject=subject,
            description=description,
            category=category,
            priority=priority,
            customer=customer,
            conversation=conversation,
            created_by_label=created_by_label,
            sla_due_at=ticket_sla_due(priority=priority, start=now),
        )
        ticket.full_clean()
        ticket.save()
        if orders:
            ticket.orders.set(orders)
        audit_record(
            subject=ticket,
            subject_type=SUBJECT,
            action="created",
            to_state=ticket.status,
            actor=created_by,
            actor_label=created_by_label,
            data={"priority": priority, "category": category, "orders": [o.number for o in orders]},
        )
        notify_staff("ticket_created", ticket_id=ticket.pk, reference=ticket.reference, priority=priority)
    return ticket


def _require(user: Any, perm: str, message: str) -> None:
    if user is None or not user.is_active or not user.has_perm(perm):
        raise PermissionDenied(message, code="forbidden")


def ticket_assign(*, ticket: Ticket, assignee: Any, actor: Any) -> Ticket:
    """Give a ticket to a staff member (None unassigns). Staff may take a ticket themselves; assigning
    it to someone else needs `support.assign_ticket`. A new ticket becomes open when assigned."""
    if assignee is not None and assignee == actor:
        _require(actor, "support.change_ticket", "You may not work on tickets.")
    else:
        _require(actor, "support.assign_ticket", "You may not assign tickets.")
    if assignee is not None and not (assignee.is_active and assignee.is_staff):
        raise ApplicationError("Tickets can only be assigned to active staff.", code="invalid_assignee")
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.status == TicketStatus.CLOSED:
            raise ApplicationError("This ticket is closed.", code="ticket_closed")
        from_state = locked.status
        previous = locked.assignee
        locked.assignee = assignee
        if assignee is not None and locked.status == TicketStatus.NEW:
            locked.status = TicketStatus.OPEN
        locked.save(update_fields=["assignee", "status", "updated_at"])
        audit_record(
            subject=locked,
            subject_type=SUBJECT,
            action="assigned",
            from_state=from_state,
            to_state=locked.status,
            actor=actor,
            data={
                "from": previous.get_username() if previous else None,
                "to": assignee.get_username() if assignee else None,
            },
        )
        notify_staff("ticket_assigned", ticket_id=locked.pk, assignee=assignee.pk if assignee else None)
    return locked


def ticket_set_status(*, ticket: Ticket, status: str, actor: Any = None, actor_label: str = "") -> Ticket:
    """Move a ticket to another status. Staff need `support.change_ticket`; `actor=None` is the system
    (pass `actor_label`, e.g. "agent"). Closed is final; a solved ticket may be reopened."""
    _check_choice(status, TicketStatus, "invalid_status")
    if actor is not None:
        _require(actor, "support.change_ticket", "You may not change tickets.")
    elif not actor_label:
        raise ApplicationError("Say who is changing the ticket.", code="actor_required")
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if status == locked.status:
            return locked
        if status not in TICKET_TRANSITIONS[locked.status]:
            raise ApplicationError(f"A {locked.status} ticket cannot become {status}.", code="invalid_transition")
        from_state = locked.status
        now = timezone.now()
        locked.status = status
        if status == TicketStatus.SOLVED:
            locked.solved_at = now
        elif status == TicketStatus.OPEN:
            locked.solved_at = None
        if status == TicketStatus.CLOSED:
            locked.closed_at = now
        locked.save(update_fields=["status", "solved_at", "closed_at", "updated_at"])
        audit_record(
            subject=locked,
            subject_type=SUBJECT,
            action="status_changed",
            from_state=from_state,
            to_state=status,
            actor=actor,
            actor_label=actor_label or actor_label_for(actor),
        )
        notify_staff("ticket_status", ticket_id=locked.pk, status=status)
    return locked


def ticket_set_priority(*, ticket: Ticket, priority: str, actor: Any) -> Ticket:
    """Change the priority; the SLA due time is recomputed from when the ticket was opened."""
    _check_choice(priority, TicketPriority, "invalid_priority")
    _require(actor, "support.change_ticket", "You may not change tickets.")
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        if locked.priority == priority:
            return locked
        previous = locked.priority
        locked.priority = priority
        locked.sla_due_at = ticket_sla_due(priority=priority, start=locked.created_at)
        locked.save(update_fields=["priority", "sla_due_at", "updated_at"])
        audit_record(
            subject=locked,
            subject_type=SUBJECT,
            action="priority_changed",
            from_state=locked.status,
            to_state=locked.status,
            actor=actor,
            data={"from": previous, "to": priority, "sla_due_at": locked.sla_due_at.isoformat()},
        )
    return locked
