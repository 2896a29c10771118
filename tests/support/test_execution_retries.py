"""An approved refund whose execution keeps raising unexpected errors is retried a bounded number of
times, then marked failed with a follow-up ticket and a message to the customer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.commerce.models import Payment, Refund
from apps.support.beat import sweep_refund_approvals
from apps.support.models import ApprovalStatus, RefundApproval, SupportAuditEvent, Ticket, TicketPriority
from apps.support.services import refund_approval_decide, refund_approval_request
from apps.support.tasks import execute_refund_approval

pytestmark = pytest.mark.django_db


class ProcessorDown(RuntimeError):
    pass


@pytest.fixture
def broken_processor(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The payment processor raises an unexpected error on every call."""
    calls: list[str] = []

    def fail(*, payment, amount, idempotency_key):
        calls.append(idempotency_key)
        raise ProcessorDown("connection reset by processor")

    monkeypatch.setattr("apps.commerce.services.refunds._processor_refund", fail)
    return calls


def _approved(order, approver, conversation) -> RefundApproval:
    approval = refund_approval_request(
        order=order, customer=order.customer, amount="30.00", reason="Damaged", items=[], conversation=conversation
    )
    return refund_approval_decide(approval=approval, approver=approver, approve=True)


def _age_last_attempt(approval: RefundApproval, minutes: int) -> None:
    past = timezone.now() - timedelta(minutes=minutes)
    RefundApproval.objects.filter(pk=approval.pk).update(decided_at=past, last_attempt_at=past)


def test_an_unexpected_error_is_recorded_and_the_request_stays_approved(
    order, conversation, approver, broken_processor, pushed, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks(execute=False):
        approval = _approved(order, approver, conversation)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        execute_refund_approval(approval.pk)
    # then: counted, nothing paid, nobody told the customer anything yet
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    assert approval.execution_attempts == 1
    assert approval.last_attempt_at is not None
    assert approval.last_error == "ProcessorDown: connection reset by processor"
    assert len(broken_processor) == 1
    assert Refund.objects.count() == 0
    assert Payment.objects.get(order=order).refunded_amount == Decimal("0.00")
    assert Ticket.objects.count() == 0
    assert conversation.messages.filter(data__kind="approval_outcome").count() == 0
    [event] = SupportAuditEvent.objects.filter(subject_id=approval.pk, action="execution_error")
    assert (event.from_state, event.to_state) == ("approved", "approved")
    assert event.data == {"attempt": 1, "max_attempts": 5, "error": "ProcessorDown: connection reset by processor"}


def test_the_sweep_waits_between_attempts(
    order, conversation, approver, broken_processor, settings, django_capture_on_commit_callbacks
):
    # given: one failed attempt just now
    settings.REFUND_APPROVAL_REQUEUE_AFTER_MINUTES = 15
    with django_capture_on_commit_callbacks(execute=False):
        approval = _approved(order, approver, conversation)
    RefundApproval.objects.filter(pk=approval.pk).update(decided_at=timezone.now() - timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        execute_refund_approval(approval.pk)
    # when: the beat job runs before the wait is over
    with django_capture_on_commit_callbacks(execute=True):
        sweep_refund_approvals()
    # then
    assert RefundApproval.objects.get(pk=approval.pk).execution_attempts == 1
    # when: after the wait
    _age_last_attempt(approval, minutes=16)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_refund_approvals()
    # then
    assert RefundApproval.objects.get(pk=approval.pk).execution_attempts == 2
    assert len(broken_processor) == 2


def test_after_the_last_attempt_the_request_fails_with_a_ticket_and_the_customer_is_told(
    order, conversation, approver, broken_processor, settings, pushed, django_capture_on_commit_callbacks
):
    # given
    settings.REFUND_APPROVAL_MAX_EXECUTION_ATTEMPTS = 3
    with django_capture_on_commit_callbacks(execute=False):
        approval = _approved(order, approver, conversation)
    # when: the task and then the beat job keep running it
    with django_capture_on_commit_callbacks(execute=True):
        execute_refund_approval(approval.pk)
    for _ in range(4):
        _age_last_attempt(approval, minutes=60)
        with django_capture_on_commit_callbacks(execute=True):
            sweep_refund_approvals()
    # then: three attempts, then failed once and for all
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.FAILED
    assert approval.execution_attempts == 3
    assert len(broken_processor) == 3
    assert approval.failure_message == (
        "Gave up after 3 attempts; last error: ProcessorDown: connection reset by processor"
    )
    assert Refund.objects.count() == 0
    assert Payment.objects.get(order=order).refunded_amount == Decimal("0.00")
    ticket = Ticket.objects.get()
    assert approval.follow_up_ticket == ticket
    assert (ticket.priority, ticket.category) == (TicketPriority.HIGH, "billing")
    assert "Gave up after 3 attempts" in ticket.description
    [message] = conversation.messages.filter(data__kind="approval_outcome")
    assert message.text == (
        f"Your refund of 30.00 USD for order {order.number} was approved, but we could not process it "
        f"automatically. A member of our team will follow up (reference {ticket.reference})."
    )
    assert "ProcessorDown" not in message.text
    assert [e["outcome"]["status"] for e in pushed.to_conversation(conversation, "approval_outcome")] == ["failed"]
    assert list(
        SupportAuditEvent.objects.filter(subject_id=approval.pk, subject_type="refund_approval")
        .exclude(action__in=["requested", "approved"])
        .values_list("action", "to_state")
    ) == [("execution_error", "approved"), ("execution_error", "approved"), ("execution_failed", "failed")]


def test_a_request_that_recovers_before_the_cap_is_executed(
    order, conversation, approver, broken_processor, monkeypatch, django_capture_on_commit_callbacks
):
    # given: one failed attempt
    with django_capture_on_commit_callbacks(execute=False):
        approval = _approved(order, approver, conversation)
    with django_capture_on_commit_callbacks(execute=True):
        execute_refund_approval(approval.pk)
    # when: the processor is back and the beat job retries
    monkeypatch.undo()
    _age_last_attempt(approval, minutes=60)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_refund_approvals()
    # then
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert approval.execution_attempts == 2
    assert Refund.objects.get().amount == Decimal("30.00")
    assert Ticket.objects.count() == 0
    assert conversation.messages.filter(data__kind="approval_outcome").count() == 1
