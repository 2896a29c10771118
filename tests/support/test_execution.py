"""The execution task: exactly one refund per approved request, whatever happens to the worker."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.db import connection

from apps.commerce.models import Payment, PaymentStatus, Refund
from apps.commerce.services import refund_execute
from apps.conversations.models import Conversation, ConversationStatus
from apps.support.models import ApprovalStatus, RefundApproval, SupportAuditEvent, Ticket, TicketPriority
from apps.support.services import refund_approval_decide, refund_approval_request
from apps.support.tasks import execute_refund_approval
from tests.support.conftest import make_customer, make_order, make_staff


def _approved(order, approver, conversation=None, amount="30.00") -> RefundApproval:
    """An approved request whose execution task was queued but has not run yet."""
    approval = refund_approval_request(
        order=order, customer=order.customer, amount=amount, reason="Damaged", items=[], conversation=conversation
    )
    return refund_approval_decide(approval=approval, approver=approver, approve=True)


def _outcomes(conversation: Conversation) -> int:
    return conversation.messages.filter(data__kind="approval_outcome").count()


@pytest.mark.django_db
def test_running_the_task_twice_refunds_once(order, conversation, approver, django_capture_on_commit_callbacks):
    # given
    with django_capture_on_commit_callbacks(execute=False):
        approval = _approved(order, approver, conversation)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        execute_refund_approval(approval.pk)
    with django_capture_on_commit_callbacks(execute=True):
        execute_refund_approval(approval.pk)
    # then
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert approval.execution_attempts == 1
    assert Refund.objects.filter(order=order).count() == 1
    assert Payment.objects.get(order=order).refunded_amount == Decimal("30.00")
    assert _outcomes(conversation) == 1
    assert SupportAuditEvent.objects.filter(subject_type="refund_approval", action="executed").count() == 1


@pytest.mark.django_db
def test_rerun_after_a_crash_between_refund_and_marking_does_not_refund_again(
    order, conversation, approver, django_capture_on_commit_callbacks
):
    # given: a worker wrote the refund with the approval's key, then died before marking the approval
    with django_capture_on_commit_callbacks(execute=False):
        approval = _approved(order, approver, conversation)
    first = refund_execute(
        order=order,
        amount=approval.amount,
        reason="Refund request",
        idempotency_key=approval.idempotency_key,
        actor_label="system",
    )
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED
    # when: the broker redelivers the task (acks_late)
    with django_capture_on_commit_callbacks(execute=True):
        execute_refund_approval(approval.pk)
    # then
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert approval.refund == first
    assert Refund.objects.filter(order=order).count() == 1
    assert Payment.objects.get(order=order).refunded_amount == Decimal("30.00")
    assert _outcomes(conversation) == 1


@pytest.mark.django_db
def test_a_crash_inside_the_task_rolls_back_and_the_rerun_refunds_once(
    order, conversation, approver, monkeypatch, django_capture_on_commit_callbacks
):
    # given: the worker dies after refund_execute returned, while marking the approval
    with django_capture_on_commit_callbacks(execute=False):
        approval = _approved(order, approver, conversation)

    def die(**kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr("apps.support.services.approvals.execution.notify_customer_of_outcome", die)
    with pytest.raises(SystemExit):
        execute_refund_approval(approval.pk)
    monkeypatch.undo()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        execute_refund_approval(approval.pk)
    # then
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert Refund.objects.filter(order=order).count() == 1
    assert Payment.objects.get(order=order).refunded_amount == Decimal("30.00")
    assert _outcomes(conversation) == 1


@pytest.mark.django_db
def test_a_pending_request_is_never_executed(order, conversation):
    # given
    approval = refund_approval_request(
        order=order, customer=order.customer, amount="30.00", reason="r", items=[], conversation=conversation
    )
    # when
    execute_refund_approval(approval.pk)
    # then
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert Refund.objects.count() == 0
    assert _outcomes(conversation) == 0


@pytest.mark.django_db
def test_a_refused_refund_marks_the_request_failed_and_tells_the_customer(
    order, conversation, approver, pushed, django_capture_on_commit_callbacks
):
    # given: between approval and execution most of the payment was refunded elsewhere
    with django_capture_on_commit_callbacks(execute=False):
        approval = _approved(order, approver, conversation)
    refund_execute(order=order, amount="80.00", reason="Manual", idempotency_key="manual-1", actor_label="system")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        execute_refund_approval(approval.pk)
    # then
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.FAILED
    assert approval.refund is None
    assert "more than the 20.00 USD still refundable" in approval.failure_message
    assert list(Refund.objects.values_list("idempotency_key", flat=True)) == ["manual-1"]
    ticket = Ticket.objects.get()
    assert approval.follow_up_ticket == ticket
    assert (ticket.priority, ticket.category, ticket.conversation) == (TicketPriority.HIGH, "billing", conversation)
    assert list(ticket.orders.all()) == [order]
    [message] = conversation.messages.filter(data__kind="approval_outcome")
    assert message.text == (
        f"Your refund of 30.00 USD for order {order.number} was approved, but we could not process it "
        f"automatically. A member of our team will follow up (reference {ticket.reference})."
    )
    [event] = pushed.to_conversation(conversation, "approval_outcome")
    assert event["outcome"]["status"] == "failed"
    # and a replay changes nothing
    execute_refund_approval(approval.pk)
    assert Ticket.objects.count() == 1
    assert Refund.objects.count() == 1


@pytest.mark.django_db
def test_outcome_goes_to_the_customers_open_chat_when_the_request_chat_is_closed(
    order, approver, django_capture_on_commit_callbacks
):
    # given
    old = Conversation.objects.create(customer=order.customer, status=ConversationStatus.CLOSED)
    current = Conversation.objects.create(customer=order.customer)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        _approved(order, approver, old)
    # then
    assert (_outcomes(old), _outcomes(current)) == (0, 1)


@pytest.mark.django_db
def test_outcome_is_stored_in_the_closed_chat_when_there_is_no_other(
    order, approver, django_capture_on_commit_callbacks
):
    # given
    old = Conversation.objects.create(customer=order.customer, status=ConversationStatus.CLOSED)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        _approved(order, approver, old)
    # then
    assert _outcomes(old) == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_task_runs_refund_once(pushed, monkeypatch):
    # given: an approved request (groups may be flushed by earlier transactional tests: grant directly)
    customer = make_customer()
    order = make_order(customer)
    conversation = Conversation.objects.create(customer=customer)
    approver = make_staff(None)
    approver.user_permissions.add(Permission.objects.get(codename="decide_refundapproval"))
    monkeypatch.setattr(execute_refund_approval, "delay", lambda approval_id: None)
    approval = _approved(order, approver, conversation, amount="100.00")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            execute_refund_approval(approval.pk)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # then
    assert errors == []
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert approval.execution_attempts == 1
    assert Refund.objects.filter(order=order).count() == 1
    payment = Payment.objects.get(order=order)
    assert (payment.refunded_amount, payment.status) == (Decimal("100.00"), PaymentStatus.REFUNDED)
    assert _outcomes(conversation) == 1
    assert len(pushed.to_conversation(conversation, "approval_outcome")) == 1


@pytest.mark.django_db(transaction=True)
def test_two_approvers_clicking_at_once_refund_once(pushed, monkeypatch):
    # given: a pending request and two approvers (permission granted directly: groups may be flushed)
    customer = make_customer()
    order = make_order(customer)
    decide = Permission.objects.get(codename="decide_refundapproval")
    approvers = [make_staff(None), make_staff(None)]
    for user in approvers:
        user.user_permissions.add(decide)
    approval = refund_approval_request(order=order, customer=customer, amount="30.00", reason="r", items=[])
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def click(user) -> None:
        try:
            barrier.wait()
            refund_approval_decide(approval=approval, approver=user, approve=True)
            outcomes.append("approved")
        except Exception as exc:
            outcomes.append(getattr(exc, "code", repr(exc)))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=click, args=(user,)) for user in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # then
    assert sorted(outcomes) == ["already_decided", "approved"]
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert approval.decisions.count() == 1
    assert Refund.objects.filter(order=order).count() == 1
