"""Refund approval requests: who may raise and decide them, and that money moves exactly once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.commerce.models import Payment, PaymentStatus, Refund
from apps.conversations.models import Message, MessageRole
from apps.core.errors import ApplicationError, NotFound, PermissionDenied
from apps.support.models import ApprovalDecision, ApprovalStatus, RefundApproval, SupportAuditEvent
from apps.support.services import refund_approval_decide, refund_approval_request
from tests.support.conftest import make_customer, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every execution task queued; each still runs (eagerly) so the whole path is exercised."""
    from apps.support.tasks import execute_refund_approval

    calls: list[int] = []
    real_delay = execute_refund_approval.delay

    def delay(approval_id: int) -> object:
        calls.append(approval_id)
        return real_delay(approval_id)

    monkeypatch.setattr(execute_refund_approval, "delay", delay)
    return calls


def _request(order, conversation=None, amount="25.00", **kwargs) -> RefundApproval:
    return refund_approval_request(
        order=order,
        customer=order.customer,
        amount=Decimal(amount),
        reason=kwargs.pop("reason", "Arrived damaged"),
        items=kwargs.pop("items", []),
        conversation=conversation,
        **kwargs,
    )


def _outcome_messages(conversation) -> list[Message]:
    return list(conversation.messages.filter(data__kind="approval_outcome"))


# --- raising a request ----------------------------------------------------------------------------


def test_request_records_only_the_approval(order, conversation, django_capture_on_commit_callbacks, pushed):
    # given
    item = order.items.first()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        approval = _request(order, conversation, amount="60.00", items=[{"order_item_id": item.pk, "quantity": 1}])
    # then
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert approval.amount == Decimal("60.00")
    assert approval.currency == "USD"
    assert approval.required_approvals == 1
    assert approval.requested_by_label == "agent"
    assert approval.items == [
        {
            "order_item_id": item.pk,
            "sku": item.sku,
            "name": str(item),
            "quantity": 1,
            "unit_price": "60.00",
            "final_sale": False,
        }
    ]
    assert approval.policy_check["eligible"] is True
    assert approval.policy_check["refundable_amount"] == "54.05"  # 60.00 minus the 5.95 return shipping fee
    assert approval.policy_check["amount_within_policy"] is False
    assert approval.idempotency_key.startswith("approval:")
    assert Refund.objects.count() == 0
    assert Payment.objects.get(order=order).refunded_amount == Decimal("0.00")
    assert ApprovalDecision.objects.count() == 0
    assert conversation.messages.count() == 0
    events = list(SupportAuditEvent.objects.filter(subject_type="refund_approval").values_list("action", "to_state"))
    assert events == [("requested", "pending")]
    assert [e["event"] for e in pushed.to_staff()] == ["refund_approval_requested"]


def test_request_above_threshold_needs_two_approvers(order, settings):
    # given
    settings.REFUND_SECOND_APPROVER_THRESHOLD = Decimal("50.00")
    # when
    small = _request(order, amount="50.00")
    large = _request(make_order(order.customer), amount="50.01")
    # then
    assert (small.required_approvals, large.required_approvals) == (1, 2)


def test_request_stores_a_negative_policy_verdict_without_blocking(customer):
    # given
    order = make_order(customer, prices=("30.00",), final_sale=True)
    item = order.items.get()
    # when
    approval = _request(order, amount="30.00", items=[{"sku": item.sku, "quantity": 1}])
    # then
    assert approval.status == ApprovalStatus.PENDING
    assert approval.policy_check["eligible"] is False
    assert approval.policy_check["reason_codes"] == ["final_sale"]


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        ("0", "invalid_amount"),
        ("-5.00", "invalid_amount"),
        ("100.01", "amount_exceeds_refundable"),
        ("x", "invalid_amount"),
    ],
)
def test_request_refuses_bad_amounts(order, amount, code):
    # when
    with pytest.raises(ApplicationError) as exc:
        refund_approval_request(order=order, customer=order.customer, amount=amount, reason="r", items=[])
    # then
    assert exc.value.code == code
    assert RefundApproval.objects.count() == 0
    assert SupportAuditEvent.objects.count() == 0


def test_request_counts_open_requests_against_what_is_refundable(order):
    # given
    _request(order, amount="70.00")
    # when
    with pytest.raises(ApplicationError) as exc:
        _request(order, amount="30.01")
    # then
    assert exc.value.code == "amount_exceeds_refundable"
    assert exc.value.extra == {"refundable": "30.00"}
    assert RefundApproval.objects.count() == 1


def test_request_for_another_customers_order_is_not_found(order):
    # given
    stranger = make_customer()
    # when
    with pytest.raises(NotFound):
        refund_approval_request(order=order, customer=stranger, amount="10.00", reason="r", items=[])
    # then
    assert RefundApproval.objects.count() == 0


def test_request_refuses_items_from_another_order(order, customer):
    # given
    other_item = make_order(customer).items.first()
    # when
    with pytest.raises(ApplicationError) as exc:
        _request(order, items=[{"order_item_id": other_item.pk, "quantity": 1}])
    # then
    assert exc.value.code == "item_not_in_order"
    assert RefundApproval.objects.count() == 0


def test_request_refuses_a_conversation_of_someone_else(order):
    # given
    from apps.conversations.models import Conversation

    foreign = Conversation.objects.create(customer=make_customer())
    # when
    with pytest.raises(ApplicationError) as exc:
        _request(order, foreign)
    # then
    assert exc.value.code == "conversation_mismatch"
    assert RefundApproval.objects.count() == 0


def test_request_needs_a_reason(order):
    with pytest.raises(ApplicationError) as exc:
        _request(order, reason="   ")
    assert exc.value.code == "reason_required"
    assert RefundApproval.objects.count() == 0


@pytest.mark.parametrize(
    ("return_reason", "refundable", "fee", "within", "summary"),
    [
        ("damaged", "30.24", "0.00", True, "eligible (policy refund 30.24)"),
        ("size", "24.29", "5.95", False, "eligible, but the amount is above the policy's 24.29"),
    ],
)
def test_the_policy_check_prices_the_request_with_its_return_reason(
    customer, settings, return_reason, refundable, fee, within, summary
):
    # given a delivered 28.00 kettle with 2.24 tax (and a mug, so it is not the whole order)
    from apps.commerce.models import OrderStatus
    from apps.support.admin import policy_summary
    from tests.commerce.factories import make_order as make_taxed_order
    from tests.commerce.factories import make_variant

    settings.SHOP_RETURN_SHIPPING_FEE = Decimal("5.95")
    kettle, mug = make_variant(price="28.00"), make_variant(price="12.00")
    order = make_taxed_order(customer=customer, status=OrderStatus.DELIVERED, items=[(kettle, 1), (mug, 1)], tax="3.20")
    kettle_line = order.items.get(variant=kettle)
    # when the customer keeps the kettle and 30.24 (its price and tax) is asked for
    approval = _request(
        order,
        amount="30.24",
        items=[{"order_item_id": kettle_line.pk, "quantity": 1}],
        return_reason=return_reason,
    )
    # then the verdict is the returns tools': no return fee when the shop was at fault
    check = approval.policy_check
    assert (check["eligible"], check["refundable_amount"], check["return_shipping_fee"]) == (True, refundable, fee)
    assert check["amount_within_policy"] is within
    assert policy_summary(check) == summary


def test_request_refuses_an_unknown_return_reason(order):
    with pytest.raises(ApplicationError) as exc:
        _request(order, return_reason="broke_it_myself")
    assert exc.value.code == "invalid_reason"
    assert RefundApproval.objects.count() == 0
    assert SupportAuditEvent.objects.count() == 0


# --- deciding: refusals -----------------------------------------------------------------------------


def _assert_untouched(approval: RefundApproval, enqueued: list[int]) -> None:
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.PENDING
    assert ApprovalDecision.objects.filter(approval=approval).count() == 0
    assert Refund.objects.count() == 0
    assert enqueued == []
    assert SupportAuditEvent.objects.filter(subject_type="refund_approval").exclude(action="requested").count() == 0
    if approval.conversation is not None:
        assert _outcome_messages(approval.conversation) == []


def test_agent_without_the_permission_cannot_decide(
    order, conversation, agent_user, enqueued, django_capture_on_commit_callbacks
):
    # given
    approval = _request(order, conversation)
    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied) as exc:
        refund_approval_decide(approval=approval, approver=agent_user, approve=True)
    # then
    assert exc.value.code == "not_an_approver"
    _assert_untouched(approval, enqueued)


def test_inactive_approver_cannot_decide(order, approver, enqueued):
    # given
    approval = _request(order)
    approver.is_active = False
    approver.save()
    # when
    with pytest.raises(PermissionDenied):
        refund_approval_decide(approval=approval, approver=approver, approve=True)
    # then
    _assert_untouched(approval, enqueued)


def test_approver_cannot_decide_a_request_they_raised(order, approver, enqueued, django_capture_on_commit_callbacks):
    # given
    approval = _request(order, requested_by=approver)
    assert approval.requested_by_label == f"staff:{approver.username}"
    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied) as exc:
        refund_approval_decide(approval=approval, approver=approver, approve=True)
    # then
    assert exc.value.code == "own_request"
    _assert_untouched(approval, enqueued)


def test_approver_cannot_decide_on_their_own_account(approver, enqueued, django_capture_on_commit_callbacks):
    # given: the approver shops here too
    from apps.commerce.models import Customer

    own = Customer.objects.create(email="me@shop.test", first_name="Me", last_name="Self", user=approver)
    approval = _request(make_order(own))
    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied) as exc:
        refund_approval_decide(approval=approval, approver=approver, approve=True)
    # then
    assert exc.value.code == "own_account"
    _assert_untouched(approval, enqueued)


def test_reject_needs_a_reason(order, conversation, approver, enqueued, django_capture_on_commit_callbacks):
    # given
    approval = _request(order, conversation)
    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError) as exc:
        refund_approval_decide(approval=approval, approver=approver, approve=False, reason="  ")
    # then
    assert exc.value.code == "reason_required"
    _assert_untouched(approval, enqueued)


# --- deciding: outcomes -----------------------------------------------------------------------------


def test_rejection_is_audited_and_reaches_the_customer(
    order, conversation, approver, enqueued, pushed, django_capture_on_commit_callbacks
):
    # given
    approval = _request(order, conversation)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        result = refund_approval_decide(
            approval=approval, approver=approver, approve=False, reason="The item was used."
        )
    # then
    assert result.status == ApprovalStatus.REJECTED
    assert result.decided_at is not None
    decision = ApprovalDecision.objects.get(approval=approval)
    assert (decision.approver, decision.decision, decision.reason) == (approver, "reject", "The item was used.")
    audit = SupportAuditEvent.objects.get(subject_type="refund_approval", action="rejected")
    assert (audit.actor, audit.actor_label, audit.from_state, audit.to_state) == (
        approver,
        f"staff:{approver.username}",
        "pending",
        "rejected",
    )
    assert Refund.objects.count() == 0
    assert enqueued == []
    [message] = _outcome_messages(conversation)
    assert message.role == MessageRole.SYSTEM
    assert message.text == (
        f"We reviewed your refund request of 25.00 USD for order {order.number} and could not approve it. "
        "Reason: The item was used."
    )
    [event] = pushed.to_conversation(conversation, "approval_outcome")
    assert event["outcome"] == {
        "approval_id": approval.pk,
        "status": "rejected",
        "order": order.number,
        "amount": "25.00",
        "currency": "USD",
        "text": message.text,
    }
    assert [e["message"]["id"] for e in pushed.to_conversation(conversation, "message")] == [message.pk]


def test_approval_executes_the_refund_once_and_tells_the_customer(
    order, conversation, approver, enqueued, pushed, django_capture_on_commit_callbacks
):
    # given
    approval = _request(order, conversation, amount="40.00")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        refund_approval_decide(approval=approval, approver=approver, approve=True, reason="ok")
    # then
    approval.refresh_from_db()
    assert enqueued == [approval.pk]
    assert approval.status == ApprovalStatus.EXECUTED
    refund = Refund.objects.get()
    assert approval.refund == refund
    assert (refund.order, refund.amount, refund.idempotency_key) == (order, Decimal("40.00"), approval.idempotency_key)
    payment = Payment.objects.get(order=order)
    assert (payment.refunded_amount, payment.status) == (Decimal("40.00"), PaymentStatus.PARTIALLY_REFUNDED)
    assert approval.execution_attempts == 1
    actions = list(
        SupportAuditEvent.objects.filter(subject_type="refund_approval").values_list("action", "from_state", "to_state")
    )
    assert actions == [
        ("requested", "", "pending"),
        ("approved", "pending", "approved"),
        ("executed", "approved", "executed"),
    ]
    [message] = _outcome_messages(conversation)
    assert message.text.startswith(f"Your refund of 40.00 USD for order {order.number} has been approved and issued")
    [event] = pushed.to_conversation(conversation, "approval_outcome")
    assert event["outcome"]["status"] == "executed"


def test_large_refund_needs_a_second_different_approver(
    order, conversation, approver, approver2, enqueued, settings, django_capture_on_commit_callbacks
):
    # given
    settings.REFUND_SECOND_APPROVER_THRESHOLD = Decimal("50.00")
    approval = _request(order, conversation, amount="80.00")
    # when: the first approval
    with django_capture_on_commit_callbacks(execute=True):
        first = refund_approval_decide(approval=approval, approver=approver, approve=True)
    # then: still pending, nothing moved
    assert first.status == ApprovalStatus.PENDING
    assert enqueued == []
    assert Refund.objects.count() == 0
    assert _outcome_messages(conversation) == []
    # when: the same person approves again
    with pytest.raises(ApplicationError) as exc:
        refund_approval_decide(approval=approval, approver=approver, approve=True)
    # then
    assert exc.value.code == "second_approver_required"
    assert ApprovalDecision.objects.filter(approval=approval).count() == 1
    assert Refund.objects.count() == 0
    # when: a different approver approves
    with django_capture_on_commit_callbacks(execute=True):
        refund_approval_decide(approval=approval, approver=approver2, approve=True)
    # then
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert enqueued == [approval.pk]
    assert Refund.objects.get().amount == Decimal("80.00")
    assert list(SupportAuditEvent.objects.filter(subject_type="refund_approval").values_list("action", "actor")) == [
        ("requested", None),
        ("approval_recorded", approver.pk),
        ("approved", approver2.pk),
        ("executed", None),
    ]


def test_first_of_two_approvals_updates_the_staff_console(
    order, approver, settings, enqueued, pushed, django_capture_on_commit_callbacks
):
    # given
    settings.REFUND_SECOND_APPROVER_THRESHOLD = Decimal("50.00")
    approval = _request(order, amount="80.00")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        refund_approval_decide(approval=approval, approver=approver, approve=True)
    # then
    assert pushed.to_staff("refund_approval_decided") == [
        {
            "type": "staff.event",
            "event": "refund_approval_decided",
            "approval_id": approval.pk,
            "status": "pending",
            "approvals": 1,
            "required_approvals": 2,
        }
    ]
    assert enqueued == []


def test_first_approval_pushes_nothing_when_the_transaction_rolls_back(
    order, approver, settings, pushed, django_capture_on_commit_callbacks
):
    # given
    from django.db import transaction

    settings.REFUND_SECOND_APPROVER_THRESHOLD = Decimal("50.00")
    approval = _request(order, amount="80.00")

    def approve_then_fail() -> None:
        with transaction.atomic():
            refund_approval_decide(approval=approval, approver=approver, approve=True)
            raise RuntimeError("rolled back")

    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        approve_then_fail()
    # then
    assert pushed.to_staff("refund_approval_decided") == []
    assert ApprovalDecision.objects.filter(approval=approval).count() == 0


def test_second_approver_can_still_reject_a_large_refund(order, approver, approver2, settings, enqueued):
    # given
    settings.REFUND_SECOND_APPROVER_THRESHOLD = Decimal("50.00")
    approval = _request(order, amount="80.00")
    refund_approval_decide(approval=approval, approver=approver, approve=True)
    # when
    result = refund_approval_decide(approval=approval, approver=approver2, approve=False, reason="Not covered.")
    # then
    assert result.status == ApprovalStatus.REJECTED
    assert enqueued == []
    assert Refund.objects.count() == 0


def test_double_approval_is_refused_and_refunds_once(
    order, conversation, approver, approver2, enqueued, django_capture_on_commit_callbacks
):
    # given
    approval = _request(order, conversation)
    with django_capture_on_commit_callbacks(execute=True):
        refund_approval_decide(approval=approval, approver=approver, approve=True)
    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError) as exc:
        refund_approval_decide(approval=approval, approver=approver2, approve=True)
    # then
    assert exc.value.code == "already_decided"
    assert enqueued == [approval.pk]
    assert Refund.objects.count() == 1
    assert ApprovalDecision.objects.filter(approval=approval).count() == 1
    assert len(_outcome_messages(conversation)) == 1


def test_rejected_request_cannot_be_approved_afterwards(order, approver, approver2, enqueued):
    # given
    approval = _request(order)
    refund_approval_decide(approval=approval, approver=approver, approve=False, reason="No.")
    # when
    with pytest.raises(ApplicationError) as exc:
        refund_approval_decide(approval=approval, approver=approver2, approve=True)
    # then
    assert exc.value.code == "already_decided"
    assert Refund.objects.count() == 0
    assert enqueued == []
