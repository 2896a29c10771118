from decimal import Decimal

import pytest

from apps.commerce.models import (
    AuditEvent,
    InvoiceStatus,
    OrderStatus,
    PaymentStatus,
    ReturnStatus,
    ShipmentStatus,
)
from apps.commerce.services import (
    INVOICE_TRANSITIONS,
    ORDER_TRANSITIONS,
    PAYMENT_TRANSITIONS,
    RETURN_TRANSITIONS,
    SHIPMENT_TRANSITIONS,
    order_mark_delivered,
    order_mark_processing,
    order_ship,
    refund_execute,
    return_check_eligibility,
    return_create,
    return_mark_received,
)
from tests.commerce.factories import make_order, make_user, make_variant

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("table", "states"),
    [
        (ORDER_TRANSITIONS, OrderStatus.values),
        (PAYMENT_TRANSITIONS, PaymentStatus.values),
        (INVOICE_TRANSITIONS, InvoiceStatus.values),
        (RETURN_TRANSITIONS, ReturnStatus.values),
        (SHIPMENT_TRANSITIONS, ShipmentStatus.values),
    ],
)
def test_every_transition_table_covers_exactly_its_states(table, states):
    assert set(table) == set(states)
    assert all(targets <= set(states) for targets in table.values())


def test_an_order_from_placement_to_refunded_return_leaves_a_complete_audit_trail():
    # given a placed order with tax
    order = make_order(status=OrderStatus.PENDING, items=[(make_variant(price="50.00"), 2)], tax="8.00")
    approver = make_user(username="approver1", is_staff=True)
    customer_label = f"customer:{order.customer_id}"
    # when it goes all the way
    order_mark_processing(order=order, actor_label="system:warehouse")
    order_ship(order=order, carrier="UPS", tracking_number="1ZLIFE", actor_label="system:warehouse")
    order_mark_delivered(order=order, actor_label="system:carrier")
    eligibility = return_check_eligibility(order=order, reason="damaged")
    rr = return_create(order=order, items=None, reason="damaged", actor_label=customer_label)
    return_mark_received(return_request=rr, actor_label="system:warehouse")
    refund = refund_execute(
        order=order,
        amount=eligibility.refundable_amount,
        reason="Damaged on arrival",
        idempotency_key="approval-life-1",
        actor_label="staff:approver1",
        actor=approver,
        return_request=rr,
    )
    # then
    order.refresh_from_db()
    assert eligibility.refundable_amount == Decimal("108.00")
    assert refund.amount == Decimal("108.00")
    assert order.status == OrderStatus.RETURNED
    assert order.payments.get().status == PaymentStatus.REFUNDED
    assert order.invoice.status == InvoiceStatus.CREDITED
    trail = list(
        AuditEvent.objects.filter(order=order).values_list(
            "subject_type", "action", "from_state", "to_state", "actor_label"
        )
    )
    assert trail == [
        ("payment", "payment.capture", "authorized", "captured", "system:warehouse"),
        ("invoice", "invoice.mark_paid", "issued", "paid", "system:warehouse"),
        ("order", "order.mark_processing", "pending", "processing", "system:warehouse"),
        ("shipment", "shipment.create", "", "in_transit", "system:warehouse"),
        ("order", "order.ship", "processing", "shipped", "system:warehouse"),
        ("shipment", "shipment.deliver", "in_transit", "delivered", "system:carrier"),
        ("order", "order.mark_delivered", "shipped", "delivered", "system:carrier"),
        ("return", "return.create", "", "label_issued", customer_label),
        ("order", "order.request_return", "delivered", "return_requested", customer_label),
        ("return", "return.mark_received", "label_issued", "received", "system:warehouse"),
        ("refund", "refund.execute", "", "succeeded", "staff:approver1"),
        ("payment", "payment.refund", "captured", "refunded", "staff:approver1"),
        ("invoice", "invoice.credit", "paid", "credited", "staff:approver1"),
        ("return", "return.refund", "received", "refunded", "staff:approver1"),
        ("order", "order.complete_return", "return_requested", "returned", "staff:approver1"),
    ]
    assert set(AuditEvent.objects.filter(actor_label="staff:approver1").values_list("actor_id", flat=True)) == {
        approver.pk
    }
