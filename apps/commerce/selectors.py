"""Reads of the shop's data, always scoped to one customer (or one verified guest order).

Every selector takes the scope as keyword arguments: `customer` (the signed-in
customer, or None) and `only_order` (the one order a guest verified with its
number and email). An object outside the scope raises `NotFound`, exactly as a
missing one does, so callers cannot probe for other customers' orders.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from apps.commerce.models import (
    Customer,
    Invoice,
    Order,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Product,
    ProductVariant,
    Refund,
    ReturnRequest,
    Shipment,
    TrackingEvent,
)
from apps.core.errors import NotFound

ORDER_NUMBER_PREFIX = "TW-"
ORDER_NUMBER_RE = re.compile(r"^TW-\d{6}$")
MAX_LIMIT = 50


def normalise_order_number(value: str) -> str:
    """'#tw-100042', 'TW100042' and '100042' all mean 'TW-100042'."""
    text = re.sub(r"[\s#]", "", str(value or "")).upper()
    digits = re.sub(r"^TW-?", "", text)
    return f"{ORDER_NUMBER_PREFIX}{digits}" if digits.isdigit() else text


def _limit(limit: int) -> int:
    return max(1, min(int(limit), MAX_LIMIT))


def customer_for_user(user: object) -> Customer | None:
    """The shop record of a signed-in user; None for anonymous users, staff without one, or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Customer.objects.filter(user_id=user.pk).first()  # type: ignore[attr-defined]


def _orders_in_scope(*, customer: Customer | None, only_order: Order | None) -> QuerySet[Order]:
    qs = Order.objects.all()
    if only_order is not None:
        qs = qs.filter(pk=only_order.pk)
        if customer is not None:
            qs = qs.filter(customer=customer)
        return qs
    if customer is None:
        return qs.none()
    return qs.filter(customer=customer)


def _order_detail_qs(qs: QuerySet[Order]) -> QuerySet[Order]:
    return qs.select_related("customer").prefetch_related(
        "items",
        Prefetch("shipments", queryset=Shipment.objects.prefetch_related("events")),
        "payments__method",
    )


def order_list_for_customer(
    *, customer: Customer | None, limit: int = 10, status: str | Iterable[str] | None = None
) -> list[Order]:
    """The customer's most recent orders, newest first (items and their products, shipments and payments prefetched)."""
    if customer is None:
        return []
    qs = Order.objects.filter(customer=customer)
    if status:
        qs = qs.filter(status__in=[status] if isinstance(status, str) else list(status))
    related = ("items__variant__product", "shipments", "payments__method")
    return list(qs.prefetch_related(*related).order_by("-placed_at", "-id")[: _limit(limit)])


def order_get_for_customer(*, customer: Customer | None, number: str, only_order: Order | None = None) -> Order:
    """One order by number, with items, shipments (and events) and payments prefetched.

    Raises NotFound for an unknown number, another customer's order, or (for a
    verified guest) any order other than `only_order`.
    """
    number = normalise_order_number(number)
    if only_order is not None and only_order.number != number:
        raise NotFound(f"No order {number} here.")
    order = _order_detail_qs(_orders_in_scope(customer=customer, only_order=only_order)).filter(number=number).first()
    if order is None:
        raise NotFound(f"No order {number} here.")
    return order


# A well-formed address that matches nothing: comparing against it keeps a miss as slow as a hit.
_DUMMY_EMAIL = "no-such-order@invalid.example"


def order_find_for_guest(*, number: str, email: str) -> Order:
    """A guest proves an order is theirs with its number and the email it was placed with."""
    number = normalise_order_number(number)
    email = (email or "").strip().lower()
    order = Order.objects.select_related("customer").filter(number=number).first() if number else None
    expected = order.customer.email.strip().lower() if order is not None else _DUMMY_EMAIL
    matches = hmac.compare_digest(expected.encode(), email.encode())
    if order is None or not matches or not email:
        raise NotFound("No order matches that number and email address.")
    return order


def shipment_list_for_customer(
    *, customer: Customer | None, number: str, only_order: Order | None = None
) -> list[Shipment]:
    """The order's shipments with their tracking events (oldest event first)."""
    order = order_get_for_customer(customer=customer, number=number, only_order=only_order)
    return list(
        Shipment.objects.filter(order=order)
        .prefetch_related(Prefetch("events", queryset=TrackingEvent.objects.order_by("occurred_at", "id")))
        .order_by("id")
    )


def invoice_list_for_customer(
    *, customer: Customer | None, only_order: Order | None = None, limit: int = 10
) -> list[Invoice]:
    orders = _orders_in_scope(customer=customer, only_order=only_order)
    return list(
        Invoice.objects.filter(order__in=orders)
        .select_related("order")
        .prefetch_related("order__items__variant__product")
        .order_by("-issued_at", "-id")[: _limit(limit)]
    )


def invoice_get_for_customer(*, customer: Customer | None, number: str, only_order: Order | None = None) -> Invoice:
    """An invoice by its number (INV-...) or by its order's number (TW-...)."""
    number = (number or "").strip().upper()
    orders = _orders_in_scope(customer=customer, only_order=only_order)
    qs = (
        Invoice.objects.filter(order__in=orders)
        .select_related("order__customer")
        .prefetch_related("order__items__variant__product")
    )
    invoice = qs.filter(number=number).first() or qs.filter(order__number=normalise_order_number(number)).first()
    if invoice is None:
        raise NotFound(f"No invoice {number} here.")
    return invoice


def payment_list_for_customer(
    *, customer: Customer | None, only_order: Order | None = None, order_number: str = "", limit: int = 20
) -> list[Payment]:
    orders = _orders_in_scope(customer=customer, only_order=only_order)
    if order_number:
        orders = orders.filter(number=normalise_order_number(order_number))
    return list(
        Payment.objects.filter(order__in=orders)
        .select_related("order", "method")
        .order_by("-created_at", "-id")[: _limit(limit)]
    )


@dataclass(frozen=True)
class PaymentMethodView:
    """What may be shown of a stored payment method: never more than brand and last four."""

    id: int
    kind: str
    label: str  # e.g. "Visa •••• 4242"
    expires: str  # "MM/YYYY" or ""
    is_default: bool


def payment_methods_for_customer(*, customer: Customer | None) -> list[PaymentMethodView]:
    if customer is None:
        return []
    return [
        PaymentMethodView(
            id=m.pk,
            kind=m.kind,
            label=m.masked,
            expires=f"{m.exp_month:02d}/{m.exp_year}" if m.exp_month and m.exp_year else "",
            is_default=m.is_default,
        )
        for m in PaymentMethod.objects.filter(customer=customer).order_by("-is_default", "id")
    ]


@dataclass(frozen=True)
class PaymentFailureHelp:
    order_number: str
    payment_id: int
    failure_code: str
    explanation: str
    next_steps: tuple[str, ...]


_FAILURE_HELP: dict[str, tuple[str, tuple[str, ...]]] = {
    "insufficient_funds": (
        "The bank declined the charge for insufficient funds.",
        ("Use another card or payment method.", "Or check the balance with the bank and try again."),
    ),
    "expired_card": (
        "The card on file has expired.",
        ("Add a card with a current expiry date and pay again.",),
    ),
    "incorrect_cvc": (
        "The security code (CVC) did not match.",
        ("Re-enter the card details carefully and pay again.",),
    ),
    "authentication_required": (
        "The bank asked for extra verification (3-D Secure) that was not completed.",
        ("Pay again and complete the bank's verification step.",),
    ),
    "card_declined": (
        "The bank declined the card without giving a reason.",
        ("Contact the bank, or use another card or PayPal.",),
    ),
    "processing_error": (
        "The payment processor had a temporary error.",
        ("Wait a few minutes and pay again; no money was taken.",),
    ),
}


def payment_failure_reason(payment: Payment) -> tuple[str, tuple[str, ...]]:
    """Why a failed payment failed, in the customer's words, and what they can do about it."""
    return _FAILURE_HELP.get(
        payment.failure_code,
        (payment.failure_message or "The payment did not go through.", ("Try again or use another method.",)),
    )


def payment_failure_help_for_customer(
    *, customer: Customer | None, number: str, only_order: Order | None = None
) -> PaymentFailureHelp | None:
    """Why the order's latest payment failed and what the customer can do. None when nothing failed.

    Read-only: retrying a payment is the customer's own action in the shop's checkout.
    """
    order = order_get_for_customer(customer=customer, number=number, only_order=only_order)
    payment = order.payments.order_by("-created_at", "-id").first()
    if payment is None or payment.status != PaymentStatus.FAILED:
        return None
    explanation, steps = payment_failure_reason(payment)
    return PaymentFailureHelp(
        order_number=order.number,
        payment_id=payment.pk,
        failure_code=payment.failure_code,
        explanation=explanation,
        next_steps=steps,
    )


def return_list_for_customer(
    *, customer: Customer | None, only_order: Order | None = None, limit: int = 10
) -> list[ReturnRequest]:
    orders = _orders_in_scope(customer=customer, only_order=only_order)
    return list(
        ReturnRequest.objects.filter(order__in=orders)
        .select_related("order")
        .prefetch_related("items__order_item", "refunds")
        .order_by("-created_at", "-id")[: _limit(limit)]
    )


def refund_list_for_customer(
    *, customer: Customer | None, only_order: Order | None = None, limit: int = 10
) -> list[Refund]:
    orders = _orders_in_scope(customer=customer, only_order=only_order)
    return list(
        Refund.objects.filter(order__in=orders)
        .select_related("order", "return_request", "payment__method")
        .order_by("-created_at", "-id")[: _limit(limit)]
    )


@dataclass(frozen=True)
class ExchangeOption:
    order_item_id: int
    product_name: str
    current_variant: str
    variant_id: int
    variant_name: str
    in_stock: bool


def exchange_options_for_customer(
    *, customer: Customer | None, number: str, only_order: Order | None = None
) -> list[ExchangeOption]:
    """For each item of the order that is not final sale: the product's other variants and whether each is in stock."""
    order = order_get_for_customer(customer=customer, number=number, only_order=only_order)
    items = [i for i in order.items.select_related("variant") if not i.final_sale]
    siblings = ProductVariant.objects.filter(product_id__in={i.variant.product_id for i in items}).order_by("id")
    by_product: dict[int, list[ProductVariant]] = {}
    for variant in siblings:
        by_product.setdefault(variant.product_id, []).append(variant)
    return [
        ExchangeOption(
            order_item_id=item.pk,
            product_name=item.product_name,
            current_variant=item.variant_name,
            variant_id=variant.pk,
            variant_name=variant.name,
            in_stock=variant.stock > 0,
        )
        for item in items
        for variant in by_product.get(item.variant.product_id, [])
        if variant.pk != item.variant_id
    ]


def product_descriptions(*, names: Iterable[str]) -> dict[str, str]:
    """The catalogue's description of each product named: public catalogue text, no customer's data, so no scope."""
    wanted = {n for n in names if n}
    if not wanted:
        return {}
    return dict(Product.objects.filter(name__in=wanted).exclude(description="").values_list("name", "description"))


def product_catalogue() -> list[tuple[str, str, str]]:
    """(name, category, description) of every active product: public catalogue text, no customer's data, so no scope.
    What a customer may name a product by when it is none of theirs ("my parka": the shop's products are the rivals)."""
    return list(Product.objects.filter(is_active=True).order_by("id").values_list("name", "category", "description"))
