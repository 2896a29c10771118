"""Order lifecycle: processing (captures payment), shipping, delivery, cancellation, address changes."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import User
from apps.commerce.models import (
    Invoice,
    InvoiceStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    ProductVariant,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)
from apps.core.errors import ApplicationError

from ._common import audit, change_state, check_actor, ensure_transition, lock_order


def _set_invoice_status(*, order: Order, to: str, action: str, actor_label: str, actor: User | None) -> None:
    invoice = Invoice.objects.select_for_update().filter(order=order).first()
    if invoice is None or invoice.status == to:
        return
    ensure_transition("invoice", invoice.status, to)
    change_state(invoice, to, order=order, action=action, actor_label=actor_label, actor=actor)


@transaction.atomic
def order_mark_processing(*, order: Order, actor_label: str, actor: User | None = None) -> Order:
    """pending -> processing. The shop captures the authorized payment when it starts on the order."""
    check_actor(actor_label, actor)
    order = lock_order(order)
    ensure_transition(
        "order",
        order.status,
        OrderStatus.PROCESSING,
        message=f"Order {order.number} is {order.get_status_display().lower()} and cannot start processing.",
    )
    payment = (
        Payment.objects.select_for_update().filter(order=order, status=PaymentStatus.AUTHORIZED).order_by("-id").first()
    )
    if payment is None:
        raise ApplicationError(
            f"Order {order.number} has no authorized payment to capture.", code="payment_not_authorized"
        )
    ensure_transition("payment", payment.status, PaymentStatus.CAPTURED)
    payment.status = PaymentStatus.CAPTURED
    payment.save(update_fields=["status", "updated_at"])
    audit(
        subject=payment,
        order=order,
        action="payment.capture",
        from_state=PaymentStatus.AUTHORIZED,
        to_state=PaymentStatus.CAPTURED,
        actor_label=actor_label,
        actor=actor,
        data={"amount": str(payment.amount), "currency": payment.currency},
    )
    _set_invoice_status(
        order=order, to=InvoiceStatus.PAID, action="invoice.mark_paid", actor_label=actor_label, actor=actor
    )
    change_state(order, OrderStatus.PROCESSING, action="order.mark_processing", actor_label=actor_label, actor=actor)
    return order


def _tracking_number(carrier: str) -> str:
    return f"{carrier[:3].upper()}{secrets.token_hex(6).upper()}"


@transaction.atomic
def order_ship(
    *,
    order: Order,
    carrier: str,
    actor_label: str,
    actor: User | None = None,
    tracking_number: str = "",
    estimated_delivery: date | None = None,
    shipped_at: datetime | None = None,
    location: str = "",
) -> Shipment:
    """processing -> shipped: hands the parcel to a carrier, creating the shipment and its first tracking event."""
    check_actor(actor_label, actor)
    carrier = (carrier or "").strip()
    if not carrier:
        raise ApplicationError("A carrier is required to ship an order.", code="carrier_required")
    order = lock_order(order)
    ensure_transition(
        "order",
        order.status,
        OrderStatus.SHIPPED,
        message=f"Order {order.number} is {order.get_status_display().lower()} and cannot be shipped.",
    )
    tracking_number = (tracking_number or "").strip() or _tracking_number(carrier)
    if Shipment.objects.filter(tracking_number=tracking_number).exists():
        raise ApplicationError(f"Tracking number {tracking_number} is already used.", code="duplicate_tracking_number")
    shipped_at = shipped_at or timezone.now()
    if estimated_delivery is None:
        days = 2 if order.shipping_method == "express" else 5
        estimated_delivery = (shipped_at + timedelta(days=days)).date()
    shipment = Shipment(
        order=order,
        carrier=carrier,
        tracking_number=tracking_number,
        status=ShipmentStatus.IN_TRANSIT,
        shipped_at=shipped_at,
        estimated_delivery=estimated_delivery,
    )
    shipment.full_clean()
    shipment.save()
    TrackingEvent.objects.create(
        shipment=shipment,
        occurred_at=shipped_at,
        status=ShipmentStatus.IN_TRANSIT,
        location=location,
        description=f"Picked up by {carrier}",
    )
    audit(
        subject=shipment,
        order=order,
        action="shipment.create",
        from_state="",
        to_state=shipment.status,
        actor_label=actor_label,
        actor=actor,
        data={"carrier": carrier, "tracking_number": tracking_number},
    )
    change_state(
        order,
        OrderStatus.SHIPPED,
        action="order.ship",
        actor_label=actor_label,
        actor=actor,
        data={"shipment_id": shipment.pk, "tracking_number": tracking_number},
    )
    return shipment


@transaction.atomic
def order_mark_delivered(
    *, order: Order, actor_label: str, actor: User | None = None, delivered_at: datetime | None = None
) -> Order:
    """shipped -> delivered. Open shipments are delivered too; the return window starts now."""
    check_actor(actor_label, actor)
    order = lock_order(order)
    ensure_transition(
        "order",
        order.status,
        OrderStatus.DELIVERED,
        message=f"Order {order.number} is {order.get_status_display().lower()} and cannot be marked delivered.",
    )
    delivered_at = delivered_at or timezone.now()
    for shipment in Shipment.objects.select_for_update().filter(order=order).exclude(status=ShipmentStatus.DELIVERED):
        ensure_transition("shipment", shipment.status, ShipmentStatus.DELIVERED)
        before = shipment.status
        shipment.status = ShipmentStatus.DELIVERED
        shipment.delivered_at = delivered_at
        shipment.save(update_fields=["status", "delivered_at", "updated_at"])
        TrackingEvent.objects.create(
            shipment=shipment, occurred_at=delivered_at, status=ShipmentStatus.DELIVERED, description="Delivered"
        )
        audit(
            subject=shipment,
            order=order,
            action="shipment.deliver",
            from_state=before,
            to_state=shipment.status,
            actor_label=actor_label,
            actor=actor,
        )
    before = order.status
    order.status = OrderStatus.DELIVERED
    order.delivered_at = delivered_at
    order.save(update_fields=["status", "delivered_at", "updated_at"])
    audit(
        subject=order,
        action="order.mark_delivered",
        from_state=before,
        to_state=order.status,
        actor_label=actor_label,
        actor=actor,
        data={"delivered_at": delivered_at.isoformat()},
    )
    return order


@transaction.atomic
def order_cancel(*, order: Order, actor_label: str, actor: User | None = None, reason: str = "") -> Order:
    """pending -> cancelled (shop policy: only before processing starts).

    Releases the reserved stock, voids an authorized (uncaptured) payment and the
    unpaid invoice. It never moves money: a pending order with a captured
    payment is refused, because money goes back only through `refund_execute`.
    """
    check_actor(actor_label, actor)
    order = lock_order(order)
    ensure_transition(
        "order",
        order.status,
        OrderStatus.CANCELLED,
        message=(
            f"Order {order.number} is {order.get_status_display().lower()}; only pending orders can be cancelled."
        ),
    )
    payments = list(Payment.objects.select_for_update().filter(order=order).order_by("id"))
    if any(p.status in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED) for p in payments):
        raise ApplicationError(
            f"Order {order.number} has a captured payment; it must be refunded, not cancelled.",
            code="payment_captured",
        )
    for payment in payments:
        if payment.status in (PaymentStatus.PENDING, PaymentStatus.AUTHORIZED):
            before = payment.status
            ensure_transition("payment", before, PaymentStatus.VOIDED)
            payment.status = PaymentStatus.VOIDED
            payment.save(update_fields=["status", "updated_at"])
            audit(
                subject=payment,
                order=order,
                action="payment.void",
                from_state=before,
                to_state=payment.status,
                actor_label=actor_label,
                actor=actor,
                data={"amount": str(payment.amount), "currency": payment.currency},
            )
    _set_invoice_status(order=order, to=InvoiceStatus.VOID, action="invoice.void", actor_label=actor_label, actor=actor)
    released: dict[str, int] = {}
    for item in order.items.all():
        ProductVariant.objects.filter(pk=item.variant_id).update(stock=F("stock") + item.quantity)
        released[item.sku] = released.get(item.sku, 0) + item.quantity
    before = order.status
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = timezone.now()
    order.save(update_fields=["status", "cancelled_at", "updated_at"])
    audit(
        subject=order,
        action="order.cancel",
        from_state=before,
        to_state=order.status,
        actor_label=actor_label,
        actor=actor,
        data={"reason": reason[:500], "stock_released": released},
    )
    return order


@dataclass(frozen=True)
class ShippingAddress:
    full_name: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    region: str = ""


_ADDRESS_LIMITS = {"full_name": 200, "line1": 200, "line2": 200, "city": 100, "region": 100, "postal_code": 20}
_CHANGEABLE = frozenset({OrderStatus.PENDING, OrderStatus.PROCESSING})


def _clean_address(address: ShippingAddress) -> ShippingAddress:
    values = {name: " ".join(str(getattr(address, name) or "").split()) for name in _ADDRESS_LIMITS}
    country = (address.country or "").strip().upper()
    missing = [name for name in ("full_name", "line1", "city", "postal_code") if not values[name]]
    if missing:
        raise ApplicationError(
            f"The new address is missing: {', '.join(missing)}.", code="invalid_address", extra={"missing": missing}
        )
    too_long = [name for name, limit in _ADDRESS_LIMITS.items() if len(values[name]) > limit]
    if too_long:
        raise ApplicationError(
            f"The new address has fields that are too long: {', '.join(too_long)}.",
            code="invalid_address",
            extra={"too_long": too_long},
        )
    if len(country) != 2 or not country.isalpha():
        raise ApplicationError("Country must be a two-letter ISO code.", code="invalid_address")
    return ShippingAddress(country=country, **values)


@transaction.atomic
def order_change_shipping_address(
    *, order: Order, address: ShippingAddress, actor_label: str, actor: User | None = None
) -> Order:
    """Change where a not-yet-shipped order goes (pending or processing only)."""
    check_actor(actor_label, actor)
    address = _clean_address(address)
    order = lock_order(order)
    if order.status not in _CHANGEABLE:
        raise ApplicationError(
            f"Order {order.number} is {order.get_status_display().lower()}; "
            "the address can only change before it ships.",
            code="invalid_transition",
            extra={"entity": "order", "from": order.status, "to": order.status},
        )
    old = {
        "full_name": order.ship_name,
        "line1": order.ship_line1,
        "line2": order.ship_line2,
        "city": order.ship_city,
        "region": order.ship_region,
        "postal_code": order.ship_postal_code,
        "country": order.ship_country,
    }
    order.ship_name = address.full_name
    order.ship_line1 = address.line1
    order.ship_line2 = address.line2
    order.ship_city = address.city
    order.ship_region = address.region
    order.ship_postal_code = address.postal_code
    order.ship_country = address.country
    new = {
        "full_name": order.ship_name,
        "line1": order.ship_line1,
        "line2": order.ship_line2,
        "city": order.ship_city,
        "region": order.ship_region,
        "postal_code": order.ship_postal_code,
        "country": order.ship_country,
    }
    if new == old:
        return order
    order.save(
        update_fields=[
            "ship_name",
            "ship_line1",
            "ship_line2",
            "ship_city",
            "ship_region",
            "ship_postal_code",
            "ship_country",
            "updated_at",
        ]
    )
    audit(
        subject=order,
        action="order.change_shipping_address",
        from_state=order.status,
        to_state=order.status,
        actor_label=actor_label,
        actor=actor,
        data={"old": old, "new": new},
    )
    return order
