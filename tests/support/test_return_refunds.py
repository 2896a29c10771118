"""Refunds for returned items: the request is judged on the return it refunds, and the money moves
when the goods are back (then the return and the order are closed)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.commerce.models import OrderStatus, Payment, Refund, ReturnStatus
from apps.commerce.services import ReturnLine, return_cancel, return_create, return_mark_received
from apps.core.errors import ApplicationError
from apps.support.beat import sweep_refund_approvals
from apps.support.models import ApprovalStatus, RefundApproval, SupportAuditEvent
from apps.support.services import (
    refund_approval_decide,
    refund_approval_refundable_amount,
    refund_approval_request,
)
from apps.support.tasks import execute_refund_approval
from tests.support.conftest import make_order

pytestmark = pytest.mark.django_db


def _return(order, *, items=None, reason="size"):
    lines = items or [ReturnLine(order_item_id=order.items.order_by("id").first().pk, quantity=1)]
    return return_create(order=order, items=lines, reason=reason, actor_label="agent")


def _request(order, *, amount="54.05", items=None, conversation=None, **kwargs) -> RefundApproval:
    return refund_approval_request(
        order=order,
        customer=order.customer,
        amount=amount,
        reason="Wrong size",
        items=items or [],
        conversation=conversation,
        **kwargs,
    )


def _outcome_texts(conversation) -> list[str]:
    return list(conversation.messages.filter(data__kind="approval_outcome").values_list("text", flat=True))


# --- the policy check judges the return being refunded ----------------------------------------------


def test_request_after_creating_the_return_is_within_policy_and_linked(order):
    # given: the normal flow: the agent opens the return, then asks for the refund
    returned = _return(order)
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURN_REQUESTED
    # when
    approval = _request(order)
    # then
    assert approval.return_request == returned
    item = order.items.order_by("id").first()
    assert [(i["order_item_id"], i["quantity"]) for i in approval.items] == [(item.pk, 1)]
    check = approval.policy_check
    assert (check["eligible"], check["reason_codes"], check["amount_within_policy"]) == (True, [], True)
    assert check["refundable_amount"] == "54.05"
    assert check["return_shipping_fee"] == "5.95"
    assert check["return_request"] == {
        "id": returned.pk,
        "label_reference": returned.label_reference,
        "status": "label_issued",
        "reason": "size",
    }


def test_request_above_what_the_return_refunds_is_flagged_not_blocked(order):
    # given
    _return(order)
    # when: the full price, without the return shipping fee the policy charges for a size return
    approval = _request(order, amount="60.00")
    # then
    assert approval.policy_check["eligible"] is True
    assert approval.policy_check["amount_within_policy"] is False


def test_return_opened_in_the_window_is_still_within_policy_after_the_window_closed(customer, settings):
    # given: a return opened on day 29 of 30; the refund is requested on day 31
    settings.SHOP_RETURN_WINDOW_DAYS = 30
    order = make_order(customer, delivered_days_ago=29)
    returned = _return(order)
    order.delivered_at = timezone.now() - timedelta(days=31)
    order.save(update_fields=["delivered_at"])
    type(returned).objects.filter(pk=returned.pk).update(created_at=timezone.now() - timedelta(days=2))
    # when
    approval = _request(order)
    # then
    assert approval.return_request_id == returned.pk
    assert approval.policy_check["reason_codes"] == []
    assert approval.policy_check["amount_within_policy"] is True


def test_request_without_a_return_on_a_delivered_order_is_not_linked(order):
    # when: a damaged item the customer keeps (no return needed)
    approval = _request(order, amount="40.00")
    # then
    assert approval.return_request is None
    assert approval.policy_check["eligible"] is True
    assert "return_request" not in approval.policy_check


def test_request_for_items_outside_the_open_return_is_not_linked(order):
    # given: the return is for the first item; the refund is for the second
    _return(order)
    second = order.items.order_by("id").last()
    # when
    approval = _request(order, amount="40.00", items=[{"order_item_id": second.pk, "quantity": 1}])
    # then
    assert approval.return_request is None
    assert approval.policy_check["reason_codes"] == ["return_in_progress"]


@pytest.mark.parametrize("case", ["other_order", "exchange", "closed", "items_not_in_return", "already_requested"])
def test_request_for_an_unsuitable_return_is_refused(order, customer, case):
    # given
    first, second = order.items.order_by("id")
    items = []
    if case == "other_order":
        target = _return(make_order(customer))
    elif case == "exchange":
        from apps.commerce.models import ProductVariant

        other = ProductVariant.objects.create(
            product=first.variant.product, sku=f"{first.sku}-L", name="L", price=first.unit_price, stock=3
        )
        target = return_create(
            order=order,
            items=[ReturnLine(order_item_id=first.pk, quantity=1, exchange_variant_id=other.pk)],
            reason="size",
            actor_label="agent",
            is_exchange=True,
        )
    elif case == "closed":
        target = _return(order)
        return_cancel(return_request=target, actor_label="agent")
    elif case == "items_not_in_return":
        target = _return(order)
        items = [{"order_item_id": second.pk, "quantity": 1}]
    else:
        target = _return(order)
        _request(order)
    before = RefundApproval.objects.count()
    expected = {
        "other_order": "return_not_for_order",
        "exchange": "return_is_exchange",
        "closed": "return_closed",
        "items_not_in_return": "items_not_in_return",
        "already_requested": "refund_already_requested",
    }[case]
    # when
    with pytest.raises(ApplicationError) as exc:
        _request(order, amount="10.00", items=items, return_request=target)
    # then
    assert exc.value.code == expected
    assert RefundApproval.objects.count() == before


# --- the refund waits for the goods ---------------------------------------------------------------


def test_approved_refund_waits_for_the_return_then_refunds_and_closes_it(
    order, conversation, approver, pushed, django_capture_on_commit_callbacks
):
    # given
    returned = _return(order)
    approval = _request(order, conversation=conversation)
    # when: approved before the parcel arrived
    with django_capture_on_commit_callbacks(execute=True):
        refund_approval_decide(approval=approval, approver=approver, approve=True)
    # then: nothing paid yet, the customer is told when it will be
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.AWAITING_RETURN
    assert approval.refund is None
    assert Refund.objects.count() == 0
    assert _outcome_texts(conversation) == [
        f"Your refund of 54.05 USD for order {order.number} has been approved. We will issue it to your original "
        f"payment method as soon as your return ({returned.label_reference}) reaches us: please send the items "
        "back with the prepaid label. We will let you know here when the refund is issued."
    ]
    [event] = pushed.to_conversation(conversation, "approval_outcome")
    assert event["outcome"]["status"] == "awaiting_return"
    # the money stays reserved for it
    assert refund_approval_refundable_amount(order=order) == Decimal("45.95")
    # when: a replayed task and a sweep before the parcel arrives change nothing
    with django_capture_on_commit_callbacks(execute=True):
        execute_refund_approval(approval.pk)
        sweep_refund_approvals()
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.AWAITING_RETURN
    assert len(_outcome_texts(conversation)) == 1
    # when: the warehouse receives it and the beat job runs
    return_mark_received(return_request=returned, actor_label="system:warehouse")
    with django_capture_on_commit_callbacks(execute=True):
        sweep_refund_approvals()
    # then
    approval.refresh_from_db()
    returned.refresh_from_db()
    order.refresh_from_db()
    refund = Refund.objects.get()
    assert approval.status == ApprovalStatus.EXECUTED
    assert approval.refund == refund
    assert (refund.return_request, refund.amount) == (returned, Decimal("54.05"))
    assert returned.status == ReturnStatus.REFUNDED
    assert order.status == OrderStatus.PARTIALLY_RETURNED
    assert Payment.objects.get(order=order).refunded_amount == Decimal("54.05")
    assert _outcome_texts(conversation)[1] == (
        f"Your return ({returned.label_reference}) for order {order.number} has arrived and your refund of "
        "54.05 USD has been issued to your original payment method. It can take up to 10 days to show on "
        "your statement."
    )
    actions = list(
        SupportAuditEvent.objects.filter(subject_type="refund_approval", subject_id=approval.pk).values_list(
            "action", "from_state", "to_state"
        )
    )
    assert actions == [
        ("requested", "", "pending"),
        ("approved", "pending", "approved"),
        ("awaiting_return", "approved", "awaiting_return"),
        ("return_received", "awaiting_return", "approved"),
        ("executed", "approved", "executed"),
    ]


def test_refund_for_an_already_received_return_is_made_at_once_and_returns_the_whole_order(
    order, conversation, approver, django_capture_on_commit_callbacks
):
    # given: both items come back, received before the decision
    first, second = order.items.order_by("id")
    returned = _return(
        order,
        items=[ReturnLine(order_item_id=first.pk, quantity=1), ReturnLine(order_item_id=second.pk, quantity=1)],
        reason="damaged",
    )
    return_mark_received(return_request=returned, actor_label="system:warehouse")
    approval = _request(order, amount="100.00", conversation=conversation)
    assert approval.policy_check["amount_within_policy"] is True
    # when
    with django_capture_on_commit_callbacks(execute=True):
        refund_approval_decide(approval=approval, approver=approver, approve=True)
    # then
    approval.refresh_from_db()
    returned.refresh_from_db()
    order.refresh_from_db()
    assert approval.status == ApprovalStatus.EXECUTED
    assert approval.refund.return_request == returned
    assert returned.status == ReturnStatus.REFUNDED
    assert order.status == OrderStatus.RETURNED
    assert len(_outcome_texts(conversation)) == 1


@pytest.mark.parametrize("reject", [False, True])
def test_return_withdrawn_or_rejected_cancels_the_approved_refund(
    order, conversation, approver, reject, pushed, django_capture_on_commit_callbacks
):
    # given: approved and waiting for the parcel
    returned = _return(order)
    approval = _request(order, conversation=conversation)
    with django_capture_on_commit_callbacks(execute=True):
        refund_approval_decide(approval=approval, approver=approver, approve=True)
    # when: the customer withdraws the return (or staff reject it), then the beat job runs
    if reject:
        return_cancel(return_request=returned, actor_label=f"staff:{approver.username}", actor=approver, reject=True)
    else:
        return_cancel(return_request=returned, actor_label=f"customer:{order.customer.pk}")
    with django_capture_on_commit_callbacks(execute=True):
        sweep_refund_approvals()
    # then: no money moved and the reservation is released
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.CANCELLED
    assert approval.refund is None
    assert Refund.objects.count() == 0
    assert refund_approval_refundable_amount(order=order) == Decimal("100.00")
    word = "rejected" if reject else "cancelled"
    assert _outcome_texts(conversation)[1] == (
        f"Your return ({returned.label_reference}) for order {order.number} was {word}, so the refund of "
        "54.05 USD approved for it was not issued. If you still want to return the items, reply here and we "
        "will help."
    )
    assert [e["outcome"]["status"] for e in pushed.to_conversation(conversation, "approval_outcome")] == [
        "awaiting_return",
        "cancelled",
    ]
    # and a replay changes nothing
    with django_capture_on_commit_callbacks(execute=True):
        execute_refund_approval(approval.pk)
        sweep_refund_approvals()
    assert len(_outcome_texts(conversation)) == 2
    assert Refund.objects.count() == 0
