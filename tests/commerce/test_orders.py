from datetime import date

import pytest

from apps.commerce.models import (
    AuditEvent,
    InvoiceStatus,
    OrderStatus,
    PaymentStatus,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)
from apps.commerce.services import (
    ORDER_TRANSITIONS,
    ShippingAddress,
    order_cancel,
    order_change_shipping_address,
    order_mark_delivered,
    order_mark_processing,
    order_ship,
)
from apps.core.errors import ApplicationError
from tests.commerce.factories import make_order, make_user, make_variant

pytestmark = pytest.mark.django_db

ALL_STATUSES = list(OrderStatus.values)


def _audit(order):
    return list(AuditEvent.objects.filter(order=order).values_list("subject_type", "action", "from_state", "to_state"))


def test_transition_table_names_every_status():
    assert set(ORDER_TRANSITIONS) == set(OrderStatus.values)
    assert ORDER_TRANSITIONS[OrderStatus.PENDING] == {OrderStatus.PROCESSING, OrderStatus.CANCELLED}


def test_mark_processing_captures_payment_and_pays_invoice():
    # given
    order = make_order(status=OrderStatus.PENDING)
    # when
    result = order_mark_processing(order=order, actor_label="system")
    # then
    order.refresh_from_db()
    assert result.status == order.status == OrderStatus.PROCESSING
    assert order.payments.get().status == PaymentStatus.CAPTURED
    assert order.invoice.status == InvoiceStatus.PAID
    assert _audit(order) == [
        ("payment", "payment.capture", "authorized", "captured"),
        ("invoice", "invoice.mark_paid", "issued", "paid"),
        ("order", "order.mark_processing", "pending", "processing"),
    ]
    assert set(AuditEvent.objects.values_list("actor_label", flat=True)) == {"system"}


@pytest.mark.parametrize("status", [s for s in ALL_STATUSES if s != OrderStatus.PENDING])
def test_mark_processing_refused_unless_pending(status):
    order = make_order(status=status)

    with pytest.raises(ApplicationError) as exc:
        order_mark_processing(order=order, actor_label="system")

    assert exc.value.code == "invalid_transition"
    assert exc.value.extra == {"entity": "order", "from": status, "to": "processing"}
    order.refresh_from_db()
    assert order.status == status
    assert AuditEvent.objects.count() == 0


def test_mark_processing_refused_when_payment_failed():
    order = make_order(status=OrderStatus.PENDING, payment_status=PaymentStatus.FAILED)

    with pytest.raises(ApplicationError) as exc:
        order_mark_processing(order=order, actor_label="system")

    assert exc.value.code == "payment_not_authorized"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert order.payments.get().status == PaymentStatus.FAILED
    assert AuditEvent.objects.count() == 0


def test_ship_creates_shipment_with_first_tracking_event():
    order = make_order(status=OrderStatus.PROCESSING)
    staff = make_user(username="wh1", is_staff=True)

    shipment = order_ship(
        order=order,
        carrier="UPS",
        tracking_number="1Z999",
        actor_label="staff:wh1",
        actor=staff,
        estimated_delivery=date(2030, 1, 5),
    )

    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    assert (shipment.carrier, shipment.tracking_number, shipment.status) == ("UPS", "1Z999", "in_transit")
    assert shipment.estimated_delivery == date(2030, 1, 5)
    assert list(shipment.events.values_list("status", "description")) == [("in_transit", "Picked up by UPS")]
    assert _audit(order) == [
        ("shipment", "shipment.create", "", "in_transit"),
        ("order", "order.ship", "processing", "shipped"),
    ]
    assert AuditEvent.objects.filter(actor=staff, actor_label="staff:wh1").count() == 2


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.SHIPPED, OrderStatus.CANCELLED])
def test_ship_refused_unless_processing(status):
    order = make_order(status=status)
    shipments_before = Shipment.objects.count()

    with pytest.raises(ApplicationError) as exc:
        order_ship(order=order, carrier="UPS", actor_label="system")

    assert exc.value.code == "invalid_transition"
    order.refresh_from_db()
    assert order.status == status
    assert Shipment.objects.count() == shipments_before
    assert AuditEvent.objects.count() == 0


def test_staff_actor_label_must_name_the_user():
    order = make_order(status=OrderStatus.PROCESSING)
    staff = make_user(username="wh2", is_staff=True)

    with pytest.raises(ApplicationError) as exc:
        order_ship(order=order, carrier="UPS", actor_label="staff:someone_else", actor=staff)

    assert exc.value.code == "invalid_actor"
    assert Shipment.objects.count() == 0


@pytest.mark.parametrize("label", ["", "bob", "customer:abc", "staff:", "agent; drop"])
def test_malformed_actor_label_refused(label):
    order = make_order(status=OrderStatus.PENDING)

    with pytest.raises(ApplicationError) as exc:
        order_cancel(order=order, actor_label=label)

    assert exc.value.code == "invalid_actor"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_mark_delivered_delivers_shipments_and_starts_return_window():
    order = make_order(status=OrderStatus.SHIPPED)

    order_mark_delivered(order=order, actor_label="system")

    order.refresh_from_db()
    shipment = order.shipments.get()
    assert order.status == OrderStatus.DELIVERED
    assert order.delivered_at is not None
    assert shipment.status == ShipmentStatus.DELIVERED
    assert shipment.delivered_at == order.delivered_at
    assert list(shipment.events.values_list("status", flat=True)) == ["in_transit", "delivered"]
    assert _audit(order) == [
        ("shipment", "shipment.deliver", "in_transit", "delivered"),
        ("order", "order.mark_delivered", "shipped", "delivered"),
    ]


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.PROCESSING, OrderStatus.DELIVERED])
def test_mark_delivered_refused_unless_shipped(status):
    order = make_order(status=status)
    events_before = TrackingEvent.objects.count()

    with pytest.raises(ApplicationError) as exc:
        order_mark_delivered(order=order, actor_label="system")

    assert exc.value.code == "invalid_transition"
    order.refresh_from_db()
    assert order.status == status
    assert TrackingEvent.objects.count() == events_before
    assert AuditEvent.objects.count() == 0


def test_cancel_pending_voids_authorization_and_invoice_and_releases_stock():
    # given
    variant = make_variant(stock=4)
    order = make_order(status=OrderStatus.PENDING, items=[(variant, 3)])
    # when
    order_cancel(order=order, actor_label=f"customer:{order.customer_id}", reason="ordered twice")
    # then
    order.refresh_from_db()
    variant.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.cancelled_at is not None
    assert variant.stock == 7
    assert order.payments.get().status == PaymentStatus.VOIDED
    assert order.invoice.status == InvoiceStatus.VOID
    assert _audit(order) == [
        ("payment", "payment.void", "authorized", "voided"),
        ("invoice", "invoice.void", "issued", "void"),
        ("order", "order.cancel", "pending", "cancelled"),
    ]
    event = AuditEvent.objects.get(action="order.cancel")
    assert event.actor_label == f"customer:{order.customer_id}"
    assert event.data == {"reason": "ordered twice", "stock_released": {variant.sku: 3}}


def test_cancel_leaves_a_failed_payment_failed():
    order = make_order(status=OrderStatus.PENDING, payment_status=PaymentStatus.FAILED)

    order_cancel(order=order, actor_label="agent")

    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert order.payments.get().status == PaymentStatus.FAILED
    assert [a for _, a, _, _ in _audit(order)] == ["invoice.void", "order.cancel"]


@pytest.mark.parametrize("status", [s for s in ALL_STATUSES if s != OrderStatus.PENDING])
def test_cancel_refused_unless_pending(status):
    variant = make_variant(stock=5)
    order = make_order(status=status, items=[(variant, 2)])
    payment_status = order.payments.get().status

    with pytest.raises(ApplicationError) as exc:
        order_cancel(order=order, actor_label="agent")

    assert exc.value.code == "invalid_transition"
    assert "only pending orders can be cancelled" in exc.value.message
    order.refresh_from_db()
    variant.refresh_from_db()
    assert order.status == status
    assert variant.stock == 5
    assert order.payments.get().status == payment_status
    assert AuditEvent.objects.count() == 0


def test_cancel_refused_when_payment_already_captured():
    variant = make_variant(stock=5)
    order = make_order(status=OrderStatus.PENDING, items=[(variant, 1)], payment_status=PaymentStatus.CAPTURED)

    with pytest.raises(ApplicationError) as exc:
        order_cancel(order=order, actor_label="agent")

    assert exc.value.code == "payment_captured"
    order.refresh_from_db()
    variant.refresh_from_db()
    assert order.status == OrderStatus.PENDING
    assert variant.stock == 5
    assert AuditEvent.objects.count() == 0


NEW_ADDRESS = ShippingAddress(
    full_name="  Alice   Moreau ", line1="9 Rue Neuve", city="Lyon", postal_code="69001", country="fr"
)


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.PROCESSING])
def test_change_shipping_address_before_shipping(status):
    order = make_order(status=status)

    order_change_shipping_address(order=order, address=NEW_ADDRESS, actor_label="agent")

    order.refresh_from_db()
    assert (order.ship_name, order.ship_line1, order.ship_city, order.ship_postal_code, order.ship_country) == (
        "Alice Moreau",
        "9 Rue Neuve",
        "Lyon",
        "69001",
        "FR",
    )
    event = AuditEvent.objects.get()
    assert (event.action, event.from_state, event.to_state) == ("order.change_shipping_address", status, status)
    assert event.data["old"]["line1"] == "1 Test Street"
    assert event.data["new"]["line1"] == "9 Rue Neuve"


@pytest.mark.parametrize("status", [OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.CANCELLED])
def test_change_shipping_address_refused_once_shipped(status):
    order = make_order(status=status)

    with pytest.raises(ApplicationError) as exc:
        order_change_shipping_address(order=order, address=NEW_ADDRESS, actor_label="agent")

    assert exc.value.code == "invalid_transition"
    order.refresh_from_db()
    assert order.ship_line1 == "1 Test Street"
    assert AuditEvent.objects.count() == 0


def test_change_shipping_address_refuses_incomplete_address():
    order = make_order(status=OrderStatus.PENDING)
    bad = ShippingAddress(full_name="A", line1="", city="Lyon", postal_code="", country="FR")

    with pytest.raises(ApplicationError) as exc:
        order_change_shipping_address(order=order, address=bad, actor_label="agent")

    assert exc.value.code == "invalid_address"
    assert exc.value.extra == {"missing": ["line1", "postal_code"]}
    order.refresh_from_db()
    assert order.ship_line1 == "1 Test Street"
    assert AuditEvent.objects.count() == 0
