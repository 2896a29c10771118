"""Support reads: customer-scoped, ordered as the screens need."""

from __future__ import annotations

import pytest

from apps.core.errors import NotFound
from apps.support.selectors import (
    escalation_get_active_for_conversation,
    escalation_list_active,
    refund_approval_get_for_customer,
    refund_approval_list_for_customer,
    refund_approval_queue,
    ticket_list_for_customer,
)
from apps.support.services import (
    escalation_create,
    escalation_resolve,
    refund_approval_decide,
    refund_approval_request,
    ticket_create,
    ticket_set_status,
)
from tests.support.conftest import make_customer, make_order

pytestmark = pytest.mark.django_db


def _request(order):
    return refund_approval_request(order=order, customer=order.customer, amount="5.00", reason="r", items=[])


def test_refund_requests_are_scoped_to_the_customer(customer, order, approver):
    # given
    first = _request(order)
    second = _request(make_order(customer))
    stranger = make_customer()
    foreign = _request(make_order(stranger))
    refund_approval_decide(approval=first, approver=approver, approve=False, reason="No.")
    # then
    assert refund_approval_list_for_customer(customer=customer) == [second, first]
    assert refund_approval_list_for_customer(customer=customer, order=order) == [first]
    assert refund_approval_get_for_customer(customer=customer, approval_id=first.pk) == first
    with pytest.raises(NotFound):
        refund_approval_get_for_customer(customer=customer, approval_id=foreign.pk)
    assert list(refund_approval_queue()) == [second, foreign]


def test_open_tickets_of_the_customer(customer, agent_user):
    # given
    kw = {"description": "d", "category": "other", "priority": "low", "created_by_label": "agent"}
    solved = ticket_create(subject="a", customer=customer, **kw)
    ticket_set_status(ticket=solved, status="solved", actor=agent_user)
    open_ = ticket_create(subject="b", customer=customer, **kw)
    ticket_create(subject="c", customer=make_customer(), **kw)
    # then
    assert ticket_list_for_customer(customer=customer) == [open_]
    assert ticket_list_for_customer(customer=customer, open_only=False) == [open_, solved]


def test_active_escalations(customer, lead):
    # given
    from apps.conversations.models import Conversation

    first_chat, second_chat = (Conversation.objects.create(customer=customer) for _ in range(2))
    first = escalation_create(conversation=first_chat, reason_code="low_confidence")
    second = escalation_create(conversation=second_chat, reason_code="customer_request")
    escalation_resolve(escalation=first, staff_user=lead, resolution_code="done")
    # then
    assert list(escalation_list_active()) == [second]
    assert escalation_get_active_for_conversation(conversation=second_chat) == second
    assert escalation_get_active_for_conversation(conversation=first_chat) is None
