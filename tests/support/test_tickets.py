"""Tickets: SLA from priority, scoped orders, assignment rights, status transitions, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.core.errors import ApplicationError, NotFound, PermissionDenied
from apps.support.models import SupportAuditEvent, Ticket, TicketStatus
from apps.support.services import ticket_assign, ticket_create, ticket_set_priority, ticket_set_status
from tests.support.conftest import make_customer, make_order, make_staff

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    monkeypatch.setattr("apps.support.services.tickets.timezone.now", lambda: NOW)
    return NOW


def _ticket(**kwargs) -> Ticket:
    defaults = {
        "subject": "Where is my parcel?",
        "description": "It has been two weeks.",
        "category": "shipping",
        "priority": "normal",
        "created_by_label": "agent",
    }
    return ticket_create(**{**defaults, **kwargs})


@pytest.mark.parametrize(("priority", "hours"), [("urgent", 2), ("high", 8), ("normal", 24), ("low", 72)])
def test_sla_due_time_follows_the_priority(frozen_now, priority, hours):
    # when
    ticket = _ticket(priority=priority)
    # then
    assert ticket.sla_due_at == NOW + timedelta(hours=hours)
    assert ticket.status == TicketStatus.NEW


def test_sla_hours_come_from_settings(frozen_now, settings):
    # given
    settings.SUPPORT_TICKET_SLA_HOURS = {**settings.SUPPORT_TICKET_SLA_HOURS, "high": 1}
    # when
    ticket = _ticket(priority="high")
    # then
    assert ticket.sla_due_at == NOW + timedelta(hours=1)


def test_ticket_links_conversation_customer_and_orders(
    conversation, customer, pushed, django_capture_on_commit_callbacks
):
    # given
    order = make_order(customer)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _ticket(conversation=conversation, orders=[order])
    # then
    assert ticket.customer == customer
    assert list(ticket.orders.all()) == [order]
    assert ticket.reference == f"T-{ticket.pk:06d}"
    audit = SupportAuditEvent.objects.get(subject_type="ticket")
    assert (audit.action, audit.to_state, audit.actor_label) == ("created", "new", "agent")
    assert audit.data == {"priority": "normal", "category": "shipping", "orders": [order.number]}
    assert [e["ticket_id"] for e in pushed.to_staff("ticket_created")] == [ticket.pk]


def test_ticket_refuses_another_customers_order(customer):
    # given
    foreign = make_order(make_customer())
    # when
    with pytest.raises(NotFound):
        _ticket(customer=customer, orders=[foreign])
    # then
    assert Ticket.objects.count() == 0
    assert SupportAuditEvent.objects.count() == 0


def test_guest_ticket_may_link_only_the_verified_order(customer):
    # given
    from apps.conversations.models import Conversation

    verified = make_order(customer)
    other = make_order(customer)
    guest_chat = Conversation.objects.create(verified_order=verified)
    # when
    ticket = _ticket(conversation=guest_chat, orders=[verified])
    with pytest.raises(NotFound):
        _ticket(conversation=guest_chat, orders=[other])
    # then
    assert list(Ticket.objects.values_list("pk", flat=True)) == [ticket.pk]


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("category", "gossip", "invalid_category"),
        ("priority", "asap", "invalid_priority"),
        ("subject", " ", "ticket_incomplete"),
    ],
)
def test_ticket_refuses_invalid_fields(field, value, code):
    with pytest.raises(ApplicationError) as exc:
        _ticket(**{field: value})
    assert exc.value.code == code
    assert Ticket.objects.count() == 0


def test_lead_assigns_and_a_new_ticket_opens(lead, agent_user):
    # given
    ticket = _ticket()
    # when
    ticket = ticket_assign(ticket=ticket, assignee=agent_user, actor=lead)
    # then
    assert (ticket.assignee, ticket.status) == (agent_user, TicketStatus.OPEN)
    audit = SupportAuditEvent.objects.get(subject_type="ticket", action="assigned")
    assert (audit.actor, audit.from_state, audit.to_state) == (lead, "new", "open")
    assert audit.data == {"from": None, "to": agent_user.username}


def test_agent_may_take_a_ticket_but_not_assign_others(agent_user):
    # given
    ticket = _ticket()
    colleague = make_staff("support_agent")
    # when
    with pytest.raises(PermissionDenied):
        ticket_assign(ticket=ticket, assignee=colleague, actor=agent_user)
    # then
    ticket.refresh_from_db()
    assert ticket.assignee is None
    # when
    ticket = ticket_assign(ticket=ticket, assignee=agent_user, actor=agent_user)
    # then
    assert ticket.assignee == agent_user


def test_tickets_go_only_to_active_staff(lead, customer):
    # given
    ticket = _ticket()
    # when
    with pytest.raises(ApplicationError) as exc:
        ticket_assign(ticket=ticket, assignee=customer.user, actor=lead)
    # then
    assert exc.value.code == "invalid_assignee"
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_status_transitions(agent_user):
    # given
    ticket = _ticket()
    # when
    for status in ("open", "pending", "solved"):
        ticket = ticket_set_status(ticket=ticket, status=status, actor=agent_user)
    # then
    assert ticket.status == TicketStatus.SOLVED
    assert ticket.solved_at is not None
    # when: reopened, then closed
    ticket = ticket_set_status(ticket=ticket, status="open", actor=agent_user)
    assert ticket.solved_at is None
    ticket = ticket_set_status(ticket=ticket, status="closed", actor=agent_user)
    # then: closed is final
    with pytest.raises(ApplicationError) as exc:
        ticket_set_status(ticket=ticket, status="open", actor=agent_user)
    assert exc.value.code == "invalid_transition"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert list(SupportAuditEvent.objects.filter(action="status_changed").values_list("from_state", "to_state")) == [
        ("new", "open"),
        ("open", "pending"),
        ("pending", "solved"),
        ("solved", "open"),
        ("open", "closed"),
    ]


def test_status_change_needs_the_permission_or_a_system_label(customer):
    # given
    ticket = _ticket()
    # when
    with pytest.raises(PermissionDenied):
        ticket_set_status(ticket=ticket, status="solved", actor=customer.user)
    with pytest.raises(ApplicationError) as exc:
        ticket_set_status(ticket=ticket, status="solved")
    # then
    assert exc.value.code == "actor_required"
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.NEW
    # when: the agent runtime solves it
    ticket = ticket_set_status(ticket=ticket, status="solved", actor_label="agent")
    # then
    assert ticket.status == TicketStatus.SOLVED


def test_priority_change_moves_the_sla(frozen_now, agent_user):
    # given
    ticket = _ticket(priority="low")
    Ticket.objects.filter(pk=ticket.pk).update(created_at=NOW)
    # when
    ticket = ticket_set_priority(ticket=ticket, priority="urgent", actor=agent_user)
    # then
    assert ticket.sla_due_at == NOW + timedelta(hours=2)
    assert SupportAuditEvent.objects.get(action="priority_changed").data["to"] == "urgent"


def test_admin_ticket_actions(client, agent_user):
    # given
    ticket = _ticket()
    client.force_login(agent_user)
    url = "/admin/support/ticket/"
    # when
    listing = client.get(url)
    client.post(url, {"action": "assign_to_me", "_selected_action": [ticket.pk]})
    client.post(url, {"action": "mark_solved", "_selected_action": [ticket.pk]})
    # then
    assert listing.status_code == 200
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (agent_user, TicketStatus.SOLVED)
