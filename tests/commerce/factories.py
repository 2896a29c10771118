"""Small builders for commerce rows in tests (other apps' tests may import them).

`make_order(status=...)` builds an order that is consistent for that status:
payment authorized while pending, captured afterwards; an invoice; a shipment
with tracking from shipped on; `delivered_at` from delivered on.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from apps.accounts.models import User
from apps.commerce.models import (
    Customer,
    Invoice,
    InvoiceStatus,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Product,
    ProductVariant,
    Shipment,
    ShipmentStatus,
    TrackingEvent,
)

_seq = itertools.count(1)

SHIPPED_ON = frozenset(
    {
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.RETURN_REQUESTED,
        OrderStatus.PARTIALLY_RETURNED,
        OrderStatus.RETURNED,
        OrderStatus.EXCHANGE_REQUESTED,
        OrderStatus.EXCHANGED,
    }
)
DELIVERED_ON = SHIPPED_ON - {OrderStatus.SHIPPED}


def make_user(*, username: str | None = None, is_staff: bool = False) -> User:
    n = next(_seq)
    username = username or f"user{n}"
    return User.objects.create_user(
        username=username, email=f"{username}@example.test", password="x", is_staff=is_staff
    )


def make_customer(*, email: str | None = None, user: User | None = None, first_name: str = "Test") -> Customer:
    n = next(_seq)
    return Customer.objects.create(
        email=email or f"customer{n}@example.test", first_name=first_name, last_name=f"Customer{n}", user=user
    )


def make_variant(
    *, price: Decimal | str = "20.00", final_sale: bool = False, stock: int = 10, name: str = ""
) -> ProductVariant:
    n = next(_seq)
    product = Product.objects.create(
        sku=f"P{n:05d}", name=name or f"Product {n}", category="test", final_sale=final_sale
    )
    return ProductVariant.objects.create(
        product=product, sku=f"P{n:05d}-M", name="M", price=Decimal(str(price)), stock=stock
    )


def make_order(
    *,
    customer: Customer | None = None,
    status: str = OrderStatus.PENDING,
    items: Sequence[tuple[ProductVariant, int]] | None = None,
    tax: Decimal | str = "0.00",
    shipping_fee: Decimal | str = "0.00",
    delivered_at: datetime | None = None,
    payment_status: str | None = None,
    with_invoice: bool = True,
    number: str | None = None,
) -> Order:
    customer = customer or make_customer()
    items = items if items is not None else [(make_variant(), 1)]
    now = timezone.now()
    subtotal = sum((v.price * q for v, q in items), Decimal("0.00"))
    tax, shipping_fee = Decimal(str(tax)), Decimal(str(shipping_fee))
    if status in DELIVERED_ON and delivered_at is None:
        delivered_at = now - timedelta(days=3)
    order = Order.objects.create(
        number=number or f"TW-{900000 + next(_seq)}",
        customer=customer,
        status=status,
        subtotal=subtotal,
        tax=tax,
        shipping_fee=shipping_fee,
        total=subtotal + tax + shipping_fee,
        ship_name=customer.full_name,
        ship_line1="1 Test Street",
        ship_city="Testville",
        ship_postal_code="12345",
        ship_country="US",
        placed_at=(delivered_at or now) - timedelta(days=4),
        delivered_at=delivered_at,
        cancelled_at=now if status == OrderStatus.CANCELLED else None,
    )
    for variant, quantity in items:
        OrderItem.objects.create(
            order=order,
            variant=variant,
            product_name=variant.product.name,
            variant_name=variant.name,
            sku=variant.sku,
            quantity=quantity,
            unit_price=variant.price,
            final_sale=variant.product.final_sale,
        )
    if payment_status is None:
        payment_status = {
            OrderStatus.PENDING: PaymentStatus.AUTHORIZED,
            OrderStatus.CANCELLED: PaymentStatus.VOIDED,
        }.get(status, PaymentStatus.CAPTURED)
    method = PaymentMethod.objects.create(customer=customer, kind="card", brand="Visa", last4="4242")
    Payment.objects.create(
        order=order,
        method=method,
        amount=order.total,
        status=payment_status,
        failure_code="card_declined" if payment_status == PaymentStatus.FAILED else "",
    )
    if with_invoice:
        invoice_status = {
            PaymentStatus.CAPTURED: InvoiceStatus.PAID,
            PaymentStatus.VOIDED: InvoiceStatus.VOID,
        }.get(payment_status, InvoiceStatus.ISSUED)
        Invoice.objects.create(
            order=order,
            number=f"INV-T-{order.number}",
            status=invoice_status,
            issued_at=order.placed_at,
            subtotal=order.subtotal,
            tax=order.tax,
            shipping_fee=order.shipping_fee,
            total=order.total,
            billing_name=customer.full_name,
            billing_address="1 Test Street, Testville, 12345, US",
        )
    if status in SHIPPED_ON:
        delivered = status in DELIVERED_ON
        shipment = Shipment.objects.create(
            order=order,
            carrier="UPS",
            tracking_number=f"1ZTEST{order.pk:08d}",
            status=ShipmentStatus.DELIVERED if delivered else ShipmentStatus.IN_TRANSIT,
            shipped_at=order.placed_at + timedelta(days=1),
            delivered_at=delivered_at if delivered else None,
        )
        TrackingEvent.objects.create(
            shipment=shipment,
            occurred_at=order.placed_at + timedelta(days=1),
            status=ShipmentStatus.IN_TRANSIT,
            description="Picked up by UPS",
        )
    return order
