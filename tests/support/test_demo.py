"""The support demo loader: real services on the demo shop, once."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.accounts.demo import DEMO_CUSTOMERS
from apps.commerce.models import Customer
from apps.conversations.models import ConversationStatus
from apps.support.models import ApprovalStatus, Escalation, RefundApproval, Ticket
from tests.support.conftest import make_customer, make_order

pytestmark = pytest.mark.django_db


def test_demo_loader_runs_once_and_leaves_the_demo_logins_alone(settings):
    # given: the demo log-in customers and generated shoppers, each with a delivered paid order
    settings.REFUND_SECOND_APPROVER_THRESHOLD = 500
    logins = [
        Customer.objects.create(email=email, first_name=first, last_name=last)
        for _username, email, first, last in DEMO_CUSTOMERS
    ]
    for customer in logins:
        make_order(customer)
    for n in range(5):
        make_order(make_customer(), prices=("450.00", "150.00") if n == 3 else ("25.00", "10.00"))
    out = StringIO()
    # when
    call_command("seed_support_demo", force=True, stdout=out)
    call_command("seed_support_demo", force=True, stdout=out)
    # then
    assert out.getvalue().splitlines() == [
        "support demo: 4 refund_requests, 1 tickets, 1 escalations",
        "support demo: already seeded (or no demo customers yet); nothing to do",
    ]
    assert RefundApproval.objects.filter(status=ApprovalStatus.PENDING).count() == 4
    assert sorted(RefundApproval.objects.values_list("required_approvals", flat=True)) == [1, 1, 1, 2]
    assert RefundApproval.objects.filter(customer__in=logins).count() == 0
    assert Ticket.objects.filter(customer__in=logins).count() == 0
    assert Ticket.objects.count() == 1
    escalation = Escalation.objects.get()
    assert escalation.conversation.status == ConversationStatus.WAITING_HUMAN


def test_demo_loader_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_support_demo")
    assert Ticket.objects.count() == 0


def test_the_first_request_in_the_demo_queue_is_one_the_policy_allows(settings):
    # given generated shoppers whose orders are all past the return window but one
    settings.REFUND_SECOND_APPROVER_THRESHOLD = 500
    for n in range(6):
        make_order(make_customer(), delivered_days_ago=5 if n == 2 else 200)
    # when the demo loader runs
    call_command("seed_support_demo", force=True, stdout=StringIO())
    # then the oldest pending request (the queue's first) is eligible, and the others show refusals
    from apps.support.admin import policy_summary
    from apps.support.selectors import refund_approval_queue

    verdicts = [policy_summary(a.policy_check) for a in refund_approval_queue()]
    assert verdicts[0].startswith("eligible (policy refund "), verdicts
    assert [v.startswith("NOT eligible") for v in verdicts[1:]] == [True, True, True]
