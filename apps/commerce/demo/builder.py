"""The demo shop's building blocks: catalogue, customers, orders, shipments, returns as unsaved instances.

`Builder` draws from the generator's `random.Random` and anchor; `scenarios.py` (the demo customers'
hand-written orders) and `generator.generate` (the crowd) both build with it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import models

from apps.accounts.models import User
from apps.commerce.models import (
    Address,
    Customer,
    Invoice,
    InvoiceStatus,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentMethod,
    PaymentMethodKind,
    PaymentStatus,
    Product,
    ProductVariant,
    Refund,
    RefundMethod,
    RefundStatus,
    ReturnItem,
    ReturnRequest,
    ReturnStatus,
    Shipment,
    ShipmentStatus,
    ShippingMethod,
    TrackingEvent,
)
from apps.commerce.refund_rules import SHOP_FAULT_REASONS, line_amount

from . import catalog

CENT = Decimal("0.01")
TAX_RATES = {"US": Decimal("0.08"), "CA": Decimal("0.13"), "GB": Decimal("0.20"), "DE": Decimal("0.19")}
DEFAULT_TAX_RATE = Decimal("0.20")


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def variant_sku(product_sku: str, name: str) -> str:
    return f"{product_sku}-" + "-".join(re.sub(r"[^A-Z0-9]", "", part.upper()) for part in name.split(" / "))


@dataclass
class LineSpec:
    variant: ProductVariant
    quantity: int = 1


@dataclass
class ReturnSpec:
    """A return or exchange on an order: which lines (index into the order's lines) and how far it got."""

    lines: list[tuple[int, int]]  # (line index, quantity)
    reason: str
    status: str
    requested_at: datetime
    is_exchange: bool = False
    received_at: datetime | None = None
    refunded_at: datetime | None = None
    exchange_skus: tuple[str, ...] = ()  # per line; empty: a random in-stock sibling


@dataclass
class DemoData:
    users: list[User] = field(default_factory=list)
    user_groups: list[tuple[User, str]] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    addresses: list[Address] = field(default_factory=list)
    payment_methods: list[PaymentMethod] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    variants: list[ProductVariant] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    items: list[OrderItem] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    events: list[TrackingEvent] = field(default_factory=list)
    returns: list[ReturnRequest] = field(default_factory=list)
    return_items: list[ReturnItem] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    # created_at to set after insert (auto_now_add would stamp the seeding time)
    created_at: list[tuple[models.Model, datetime]] = field(default_factory=list)

    # Insert order = dependency order; `digest()` walks the same lists.
    TABLES = (
        "users",
        "customers",
        "addresses",
        "payment_methods",
        "products",
        "variants",
        "orders",
        "items",
        "payments",
        "invoices",
        "shipments",
        "events",
        "returns",
        "return_items",
        "refunds",
    )

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in self.TABLES}


class Builder:
    """Accumulates consistent rows: an order in a given status gets the payments, invoice,
    shipment, tracking, return and refund rows that status implies."""

    def __init__(self, *, rng: random.Random, anchor: datetime) -> None:
        self.rng = rng
        self.anchor = anchor
        self.data = DemoData()
        self.variants_by_sku: dict[str, ProductVariant] = {}
        self.siblings: dict[str, list[ProductVariant]] = {}
        self._tracking: set[str] = set()
        self.pools: dict[tuple[bool, bool, bool], list[ProductVariant]] = {}
        self.return_fee = Decimal(settings.SHOP_RETURN_SHIPPING_FEE)

    # -- helpers -------------------------------------------------------------
    def hex(self, n: int) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}X}"

    def minutes(self, lo: float, hi: float) -> timedelta:
        """A random duration between lo and hi hours, rounded to the minute."""
        return timedelta(minutes=self.rng.randint(int(lo * 60), int(hi * 60)))

    # -- catalogue -----------------------------------------------------------
    def add_catalog(self) -> None:
        for index, spec in enumerate(catalog.CATALOG):
            product = Product(
                sku=spec.sku,
                name=spec.name,
                description=spec.description,
                category=spec.category,
                final_sale=spec.final_sale,
                is_active=True,
            )
            self.data.products.append(product)
            for v_index, name in enumerate(spec.variants):
                # A few variants are sold out so exchanges and stock questions have real answers;
                # never the first variant of a product (scenarios buy those).
                sold_out = v_index > 0 and (index + v_index) % 9 == 0
                variant = ProductVariant(
                    product=product,
                    sku=variant_sku(spec.sku, name),
                    name=name,
                    price=Decimal(spec.price),
                    currency=settings.SHOP_CURRENCY,
                    stock=0 if sold_out else self.rng.randint(6, 80),
                )
                self.data.variants.append(variant)
                self.variants_by_sku[variant.sku] = variant
                self.siblings.setdefault(spec.sku, []).append(variant)

    def variant(self, sku: str) -> ProductVariant:
        return self.variants_by_sku[sku]

    # -- people --------------------------------------------------------------
    def user(self, *, username: str, email: str, first: str = "", last: str = "", **flags: bool) -> User:
        user = User(username=username, email=email, first_name=first, last_name=last, is_active=True, **flags)
        self.data.users.append(user)
        return user

    def customer(
        self,
        *,
        email: str,
        first: str,
        last: str,
        since: datetime,
        user: User | None = None,
        city: tuple[str, str, str, str] | None = None,
        cards: Sequence[tuple[str, str, int, int]] | None = None,
        paypal: bool = False,
    ) -> tuple[Customer, Address, list[PaymentMethod]]:
        rng = self.rng
        customer = Customer(
            user=user, email=email, first_name=first, last_name=last, phone=f"+1 555 {rng.randint(1000000, 9999999)}"
        )
        self.data.customers.append(customer)
        self.data.created_at.append((customer, since))
        city_name, region, postal, country = city or rng.choice(catalog.CITIES)
        address = Address(
            customer=customer,
            full_name=f"{first} {last}",
            line1=f"{rng.randint(1, 999)} {rng.choice(catalog.STREETS)}",
            line2=f"Apt {rng.randint(1, 40)}" if rng.random() < 0.25 else "",
            city=city_name,
            region=region,
            postal_code=postal + (f"{rng.randint(10, 99)}" if postal.isdigit() else f" {rng.randint(1, 9)}AB"),
            country=country,
            is_default=True,
        )
        self.data.addresses.append(address)
        methods: list[PaymentMethod] = []
        if cards is None:
            cards = [
                (
                    rng.choice(catalog.CARD_BRANDS),
                    f"{rng.randint(0, 9999):04d}",
                    rng.randint(1, 12),
                    self.anchor.year + rng.randint(0, 4),
                )
            ]
            paypal = rng.random() < 0.2
        for brand, last4, month, year in cards:
            methods.append(
                PaymentMethod(
                    customer=customer,
                    kind=PaymentMethodKind.CARD,
                    brand=brand,
                    last4=last4,
                    exp_month=month,
                    exp_year=year,
                    is_default=not methods,
                )
            )
        if paypal:
            methods.append(PaymentMethod(customer=customer, kind=PaymentMethodKind.PAYPAL, is_default=not methods))
        self.data.payment_methods.extend(methods)
        return customer, address, methods

    # -- orders --------------------------------------------------------------
    def order(
        self,
        *,
        number: str,
        customer: Customer,
        address: Address,
        method: PaymentMethod,
        status: str,
        placed_at: datetime,
        lines: Sequence[LineSpec],
        shipping_method: str = ShippingMethod.STANDARD,
        failed_payment: tuple[str, str] | None = None,
        payment_failed_only: bool = False,
        shipped_at: datetime | None = None,
        shipment_status: str = ShipmentStatus.IN_TRANSIT,
        delivered_at: datetime | None = None,
        cancelled_at: datetime | None = None,
        returns: Sequence[ReturnSpec] = (),
        goodwill_refund: tuple[Decimal, str, datetime] | None = None,
    ) -> Order:
        subtotal = sum((line.variant.price * line.quantity for line in lines), Decimal("0.00"))
        if shipping_method == ShippingMethod.EXPRESS:
            shipping_fee = Decimal(settings.SHOP_EXPRESS_SHIPPING_FEE)
        elif subtotal >= Decimal(settings.SHOP_FREE_SHIPPING_THRESHOLD):
            shipping_fee = Decimal("0.00")
        else:
            shipping_fee = Decimal(settings.SHOP_STANDARD_SHIPPING_FEE)
        tax = money(subtotal * TAX_RATES.get(address.country, DEFAULT_TAX_RATE))
        order = Order(
            number=number,
            customer=customer,
            status=status,
            currency=settings.SHOP_CURRENCY,
            subtotal=subtotal,
            shipping_fee=shipping_fee,
            tax=tax,
            total=subtotal + shipping_fee + tax,
            shipping_method=shipping_method,
            ship_name=address.full_name,
            ship_line1=address.line1,
            ship_line2=address.line2,
            ship_city=address.city,
            ship_region=address.region,
            ship_postal_code=address.postal_code,
            ship_country=address.country,
            placed_at=placed_at,
            delivered_at=delivered_at,
            cancelled_at=cancelled_at,
        )
        self.data.orders.append(order)
        self.data.created_at.append((order, placed_at))
        items = []
        for line in lines:
            item = OrderItem(
                order=order,
                variant=line.variant,
                product_name=line.variant.product.name,
                variant_name=line.variant.name,
                sku=line.variant.sku,
                quantity=line.quantity,
                unit_price=line.variant.price,
                final_sale=line.variant.product.final_sale,
            )
            items.append(item)
        self.data.items.extend(items)

        payment = self._payments(order, method, placed_at, failed_payment, payment_failed_only, status)
        invoice = Invoice(
            order=order,
            number=f"INV-{placed_at.year}-{number.removeprefix('TW-')}",
            status=InvoiceStatus.ISSUED,
            issued_at=placed_at,
            currency=order.currency,
            subtotal=subtotal,
            shipping_fee=shipping_fee,
            tax=tax,
            total=order.total,
            billing_name=address.full_name,
            billing_address=order.shipping_address,
        )
        self.data.invoices.append(invoice)
        if payment is not None and payment.status == PaymentStatus.CAPTURED:
            invoice.status = InvoiceStatus.PAID
        if status == OrderStatus.CANCELLED:
            invoice.status = InvoiceStatus.VOID

        if shipped_at is not None:
            self._shipment(order, placed_at, shipped_at, shipment_status, delivered_at)

        for spec in returns:
            self._return(order, items, payment, spec)
        if goodwill_refund is not None and payment is not None:
            amount, reason, when = goodwill_refund
            self._refund(order, payment, None, amount, reason, when)
        if payment is not None and payment.status == PaymentStatus.REFUNDED:
            invoice.status = InvoiceStatus.CREDITED
        return order

    def _payments(
        self,
        order: Order,
        method: PaymentMethod,
        placed_at: datetime,
        failed_payment: tuple[str, str] | None,
        failed_only: bool,
        status: str,
    ) -> Payment | None:
        if failed_payment is not None:
            code, message = failed_payment
            failed = Payment(
                order=order,
                method=method,
                amount=order.total,
                currency=order.currency,
                status=PaymentStatus.FAILED,
                failure_code=code,
                failure_message=message,
                processor_reference=f"ch_{self.hex(20).lower()}",
            )
            self.data.payments.append(failed)
            self.data.created_at.append((failed, placed_at))
            if failed_only:
                return None
        if status == OrderStatus.PENDING:
            payment_status = PaymentStatus.AUTHORIZED
        elif status == OrderStatus.CANCELLED:
            payment_status = PaymentStatus.VOIDED
        else:
            payment_status = PaymentStatus.CAPTURED
        payment = Payment(
            order=order,
            method=method,
            amount=order.total,
            currency=order.currency,
            status=payment_status,
            processor_reference=f"ch_{self.hex(20).lower()}",
        )
        self.data.payments.append(payment)
        self.data.created_at.append((payment, placed_at + timedelta(minutes=3 if failed_payment else 0)))
        return payment

    def tracking_number(self, carrier: str) -> str:
        while True:
            number = {
                "UPS": f"1Z{self.hex(16)}",
                "FedEx": f"{self.rng.randint(10**11, 10**12 - 1)}",
                "USPS": f"9400{self.rng.randint(10**17, 10**18 - 1)}",
                "DHL": f"JD{self.rng.randint(10**15, 10**16 - 1)}",
            }[carrier]
            if number not in self._tracking:
                self._tracking.add(number)
                return number

    def _shipment(
        self,
        order: Order,
        placed_at: datetime,
        shipped_at: datetime,
        status: str,
        delivered_at: datetime | None,
    ) -> None:
        rng = self.rng
        carrier = "DHL" if order.ship_country not in ("US", "CA") else rng.choice(catalog.CARRIERS[:3])
        express = order.shipping_method == ShippingMethod.EXPRESS
        shipment = Shipment(
            order=order,
            carrier=carrier,
            tracking_number=self.tracking_number(carrier),
            status=ShipmentStatus.DELIVERED if delivered_at else status,
            shipped_at=shipped_at,
            estimated_delivery=(shipped_at + timedelta(days=2 if express else 5)).date(),
            delivered_at=delivered_at,
        )
        self.data.shipments.append(shipment)
        self.data.created_at.append((shipment, shipped_at))
        hubs = catalog.HUBS.get(order.ship_country, catalog.HUBS["US"])
        label_at = max(placed_at, shipped_at - self.minutes(2, 10))
        events = [
            (label_at, ShipmentStatus.LABEL_CREATED, "", "Shipping label created"),
            (shipped_at, ShipmentStatus.IN_TRANSIT, hubs[0], f"Picked up by {carrier}"),
        ]
        hub_at = shipped_at + self.minutes(8, 20)
        end = delivered_at or self.anchor
        if hub_at < end:
            events.append((hub_at, ShipmentStatus.IN_TRANSIT, rng.choice(hubs), "Arrived at sorting facility"))
        destination = f"{order.ship_city}, {order.ship_country}"
        if delivered_at is not None:
            events.append(
                (delivered_at - self.minutes(3, 6), ShipmentStatus.OUT_FOR_DELIVERY, destination, "Out for delivery")
            )
            events.append((delivered_at, ShipmentStatus.DELIVERED, destination, "Delivered, left at front door"))
        elif status == ShipmentStatus.OUT_FOR_DELIVERY:
            events.append((self.anchor - self.minutes(1, 3), status, destination, "Out for delivery"))
        elif status == ShipmentStatus.EXCEPTION:
            events.append(
                (
                    self.anchor - self.minutes(4, 20),
                    status,
                    destination,
                    "Delivery attempted: address incomplete, held at local depot",
                )
            )
        for occurred_at, event_status, location, description in sorted(events, key=lambda e: e[0]):
            self.data.events.append(
                TrackingEvent(
                    shipment=shipment,
                    occurred_at=occurred_at,
                    status=event_status,
                    location=location,
                    description=description,
                )
            )

    def _return(self, order: Order, items: list[OrderItem], payment: Payment | None, spec: ReturnSpec) -> None:
        fee = Decimal("0.00") if spec.is_exchange or spec.reason in SHOP_FAULT_REASONS else self.return_fee
        request = ReturnRequest(
            order=order,
            customer=order.customer,
            status=spec.status,
            reason=spec.reason,
            note="",
            is_exchange=spec.is_exchange,
            label_reference=f"RMA-{self.hex(10)}",
            return_shipping_fee=fee,
            received_at=spec.received_at,
        )
        self.data.returns.append(request)
        self.data.created_at.append((request, spec.requested_at))
        gross = Decimal("0.00")
        for n, (line_index, quantity) in enumerate(spec.lines):
            item = items[line_index]
            exchange_variant = None
            if spec.is_exchange and spec.exchange_skus:
                exchange_variant = self.variant(spec.exchange_skus[n])
            elif spec.is_exchange:
                others = [v for v in self.siblings[item.variant.product.sku] if v is not item.variant and v.stock > 0]
                exchange_variant = self.rng.choice(others)
            self.data.return_items.append(
                ReturnItem(
                    return_request=request, order_item=item, quantity=quantity, exchange_variant=exchange_variant
                )
            )
            gross += line_amount(order, item, quantity)
        # As the returns service does: the shop's fault and everything back refunds the original shipping too.
        everything_back = sorted(spec.lines) == [(i, item.quantity) for i, item in enumerate(items)]
        if not spec.is_exchange and spec.reason in SHOP_FAULT_REASONS and everything_back:
            gross += order.shipping_fee
        if spec.status == ReturnStatus.REFUNDED and payment is not None and spec.refunded_at is not None:
            self._refund(order, payment, request, gross - fee, f"Return {request.label_reference}", spec.refunded_at)

    def _refund(
        self,
        order: Order,
        payment: Payment,
        request: ReturnRequest | None,
        amount: Decimal,
        reason: str,
        when: datetime,
    ) -> None:
        amount = min(money(amount), payment.amount - payment.refunded_amount)
        if amount <= 0:
            return
        n = sum(1 for r in self.data.refunds if r.order is order) + 1
        refund = Refund(
            order=order,
            payment=payment,
            return_request=request,
            amount=amount,
            currency=payment.currency,
            method=RefundMethod.ORIGINAL_PAYMENT,
            status=RefundStatus.SUCCEEDED,
            reason=reason,
            idempotency_key=f"demo-{order.number}-{n}",
            processor_reference=f"re_{self.hex(20).lower()}",
            processed_at=when,
        )
        self.data.refunds.append(refund)
        self.data.created_at.append((refund, when))
        payment.refunded_amount += amount
        payment.status = (
            PaymentStatus.REFUNDED if payment.refunded_amount >= payment.amount else PaymentStatus.PARTIALLY_REFUNDED
        )
