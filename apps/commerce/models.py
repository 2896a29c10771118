"""The shop's system of record.

Rows change only through `apps.commerce.services`, which validate each state
transition and write an `AuditEvent`. Agents reach this data only through
`apps.commerce.selectors` and services, always scoped to one customer.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel

MONEY = {"max_digits": 12, "decimal_places": 2}


class Customer(TimeStampedModel):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="customer"
    )
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    phone = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class Address(TimeStampedModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    full_name = models.CharField(max_length=200)
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return ", ".join(p for p in (self.line1, self.line2, self.city, self.postal_code, self.country) if p)


class Product(TimeStampedModel):
    sku = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=80, db_index=True)
    final_sale = models.BooleanField(default=False, help_text="Final-sale items cannot be returned.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ProductVariant(TimeStampedModel):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=60, unique=True)
    name = models.CharField(max_length=120, help_text="e.g. 'M / Navy'")
    price = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.00"))])
    currency = models.CharField(max_length=3, default="USD")
    stock = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.product.name} ({self.name})"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    SHIPPED = "shipped", "Shipped"
    DELIVERED = "delivered", "Delivered"
    CANCELLED = "cancelled", "Cancelled"
    RETURN_REQUESTED = "return_requested", "Return requested"
    PARTIALLY_RETURNED = "partially_returned", "Partially returned"
    RETURNED = "returned", "Returned"
    EXCHANGE_REQUESTED = "exchange_requested", "Exchange requested"
    EXCHANGED = "exchanged", "Exchanged"


class ShippingMethod(models.TextChoices):
    STANDARD = "standard", "Standard (3-5 business days)"
    EXPRESS = "express", "Express (1-2 business days)"


class Order(TimeStampedModel):
    number = models.CharField(max_length=20, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=24, choices=OrderStatus.choices, default=OrderStatus.PENDING, db_index=True)
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(**MONEY)
    shipping_fee = models.DecimalField(**MONEY, default=Decimal("0.00"))
    tax = models.DecimalField(**MONEY, default=Decimal("0.00"))
    total = models.DecimalField(**MONEY)
    shipping_method = models.CharField(max_length=16, choices=ShippingMethod.choices, default=ShippingMethod.STANDARD)
    # The address is a snapshot: editing the customer's address book must not move a placed order.
    ship_name = models.CharField(max_length=200)
    ship_line1 = models.CharField(max_length=200)
    ship_line2 = models.CharField(max_length=200, blank=True)
    ship_city = models.CharField(max_length=100)
    ship_region = models.CharField(max_length=100, blank=True)
    ship_postal_code = models.CharField(max_length=20)
    ship_country = models.CharField(max_length=2)
    placed_at = models.DateTimeField(db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        indexes = [models.Index(fields=["customer", "-placed_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_non_negative"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def shipping_address(self) -> str:
        parts = (self.ship_line1, self.ship_line2, self.ship_city, self.ship_region, self.ship_postal_code)
        return ", ".join(p for p in parts if p) + f", {self.ship_country}"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    variant = models.ForeignKey(ProductVariant, on_delete=models.PROTECT, related_name="order_items")
    product_name = models.CharField(max_length=200)
    variant_name = models.CharField(max_length=120)
    sku = models.CharField(max_length=60)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(**MONEY)
    final_sale = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_name} ({self.variant_name})"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class ShipmentStatus(models.TextChoices):
    LABEL_CREATED = "label_created", "Label created"
    IN_TRANSIT = "in_transit", "In transit"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    EXCEPTION = "exception", "Delivery exception"


class Shipment(TimeStampedModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    carrier = models.CharField(max_length=40)
    tracking_number = models.CharField(max_length=60, unique=True)
    status = models.CharField(max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.LABEL_CREATED)
    shipped_at = models.DateTimeField(null=True, blank=True)
    estimated_delivery = models.DateField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class TrackingEvent(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="events")
    occurred_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=ShipmentStatus.choices)
    location = models.CharField(max_length=120, blank=True)
    description = models.CharField(max_length=255)

    class Meta:
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.status} {self.location}"


class PaymentMethodKind(models.TextChoices):
    CARD = "card", "Card"
    PAYPAL = "paypal", "PayPal"
    GIFT_CARD = "gift_card", "Gift card"


class PaymentMethod(TimeStampedModel):
    """Only what is safe to show: brand and last four. The processor holds the rest."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="payment_methods")
    kind = models.CharField(max_length=16, choices=PaymentMethodKind.choices)
    brand = models.CharField(max_length=30, blank=True)
    last4 = models.CharField(max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        if self.kind == PaymentMethodKind.CARD:
            return f"{self.brand} •••• {self.last4}"
        if self.kind == PaymentMethodKind.GIFT_CARD:
            return f"Gift card •••• {self.last4}"
        return "PayPal"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    AUTHORIZED = "authorized", "Authorized"
    CAPTURED = "captured", "Captured"
    FAILED = "failed", "Failed"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    VOIDED = "voided", "Voided"


class Payment(TimeStampedModel):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    method = models.ForeignKey(PaymentMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.00"))])
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    refunded_amount = models.DecimalField(**MONEY, default=Decimal("0.00"))
    failure_code = models.CharField(max_length=40, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    processor_reference = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=models.F("amount")), name="payment_refund_le_amount"
            ),
            models.CheckConstraint(condition=Q(refunded_amount__gte=0), name="payment_refund_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} ({self.status})"


class InvoiceStatus(models.TextChoices):
    ISSUED = "issued", "Issued"
    PAID = "paid", "Paid"
    VOID = "void", "Void"
    CREDITED = "credited", "Credited"


class Invoice(TimeStampedModel):
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="invoice")
    number = models.CharField(max_length=30, unique=True)
    status = models.CharField(max_length=12, choices=InvoiceStatus.choices, default=InvoiceStatus.ISSUED)
    issued_at = models.DateTimeField()
    currency = models.CharField(max_length=3, default="USD")
    subtotal = models.DecimalField(**MONEY)
    shipping_fee = models.DecimalField(**MONEY, default=Decimal("0.00"))
    tax = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)
    billing_name = models.CharField(max_length=200)
    billing_address = models.CharField(max_length=400)

    class Meta:
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return self.number


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", "Requested"
    LABEL_ISSUED = "label_issued", "Label issued"
    RECEIVED = "received", "Received"
    REFUNDED = "refunded", "Refunded"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", "Arrived damaged or defective"
    WRONG_ITEM = "wrong_item", "Wrong item sent"
    NOT_AS_DESCRIBED = "not_as_described", "Not as described"
    SIZE = "size", "Wrong size or fit"
    CHANGED_MIND = "changed_mind", "Changed my mind"
    OTHER = "other", "Other"


class ReturnRequest(TimeStampedModel):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="return_requests")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="return_requests")
    status = models.CharField(max_length=16, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED)
    reason = models.CharField(max_length=20, choices=ReturnReason.choices)
    note = models.TextField(blank=True)
    is_exchange = models.BooleanField(default=False)
    label_reference = models.CharField(max_length=40, blank=True)
    return_shipping_fee = models.DecimalField(**MONEY, default=Decimal("0.00"))
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Return {self.pk} for {self.order.number}"


class ReturnItem(models.Model):
    return_request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="items")
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="return_items")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    # Exchanges only: the variant (same product) reserved to ship in its place.
    exchange_variant = models.ForeignKey(
        ProductVariant, null=True, blank=True, on_delete=models.PROTECT, related_name="exchange_return_items"
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x item {self.order_item_id}"


class RefundStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class RefundMethod(models.TextChoices):
    ORIGINAL_PAYMENT = "original_payment", "Original payment method"
    STORE_CREDIT = "store_credit", "Store credit"


class Refund(TimeStampedModel):
    """Money back to a customer. Created and executed only by the commerce refund service."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    return_request = models.ForeignKey(
        ReturnRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3, default="USD")
    method = models.CharField(max_length=20, choices=RefundMethod.choices, default=RefundMethod.ORIGINAL_PAYMENT)
    status = models.CharField(max_length=12, choices=RefundStatus.choices, default=RefundStatus.PENDING)
    reason = models.CharField(max_length=255)
    # Unique: the same request executed twice finds the first refund instead of paying again.
    idempotency_key = models.CharField(max_length=80, unique=True)
    processor_reference = models.CharField(max_length=60, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} on {self.order.number} ({self.status})"


class AuditEvent(models.Model):
    """One row per state change or money movement, written by the service that made it."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    subject_type = models.CharField(max_length=40, db_index=True)
    subject_id = models.BigIntegerField()
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events")
    action = models.CharField(max_length=60)
    from_state = models.CharField(max_length=30, blank=True)
    to_state = models.CharField(max_length=30, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(
        max_length=120, help_text="who acted: staff:<username>, customer:<id>, agent, system"
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.subject_type}#{self.subject_id} {self.action} {self.from_state}->{self.to_state}"
