"""The demo customers and their known orders (documented in docs/demo-data.md).

Every date is relative to the anchor (midnight UTC of the seed's base date):
`ago(5, 14)` is 14:00 UTC five days before the base date. Other helpers write
chat scenarios against these orders: change them only together with the doc.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from apps.accounts.models import User
from apps.commerce.models import (
    Address,
    Customer,
    OrderStatus,
    PaymentMethod,
    ProductVariant,
    ReturnReason,
    ReturnStatus,
    ShipmentStatus,
    ShippingMethod,
)

from .builder import Builder, LineSpec, ReturnSpec, variant_sku

GUEST_EMAIL = "dana.guest@example.com"


def build(builder: Builder, *, demo_users: dict[str, User]) -> None:
    anchor = builder.anchor
    year = anchor.year

    def ago(days: int, hour: int = 12, minute: int = 0):
        return anchor - timedelta(days=days) + timedelta(hours=hour, minutes=minute)

    def v(product_sku: str, name: str) -> ProductVariant:
        return builder.variant(variant_sku(product_sku, name))

    def line(product_sku: str, name: str, quantity: int = 1) -> LineSpec:
        return LineSpec(v(product_sku, name), quantity)

    def person(
        user: User | None,
        email: str,
        first: str,
        last: str,
        city: tuple[str, str, str, str],
        cards: list[tuple[str, str, int, int]],
        paypal: bool,
    ) -> tuple[Customer, Address, list[PaymentMethod]]:
        return builder.customer(
            email=email,
            first=first,
            last=last,
            since=ago(400),
            user=user,
            city=city,
            cards=cards,
            paypal=paypal,
        )

    alice, alice_addr, alice_pm = person(
        demo_users["alice"],
        "alice@example.com",
        "Alice",
        "Moreau",
        ("Portland", "ME", "041", "US"),
        [("Visa", "4242", 8, year + 2)],
        paypal=True,
    )
    bob, bob_addr, bob_pm = person(
        demo_users["bob"],
        "bob@example.com",
        "Bob",
        "Okafor",
        ("Chicago", "IL", "606", "US"),
        [("Mastercard", "5454", anchor.month, year)],
        paypal=False,
    )
    carmen, carmen_addr, carmen_pm = person(
        demo_users["carmen"],
        "carmen@example.com",
        "Carmen",
        "Ruiz",
        ("Toronto", "ON", "M5V", "CA"),
        [("Amex", "0005", 11, year + 3)],
        paypal=True,
    )
    dana, dana_addr, dana_pm = person(
        None, GUEST_EMAIL, "Dana", "Whitfield", ("Savannah", "GA", "314", "US"), [("Visa", "1881", 2, year + 1)], False
    )

    o = builder.order
    # fmt: off
    # --- Alice: one order in each situation a customer asks about ---------------
    o(number="TW-100001", customer=alice, address=alice_addr, method=alice_pm[0], status=OrderStatus.PENDING,
      placed_at=ago(1, 21), lines=[line("APP-001", "M / Navy", 2), line("HOM-001", "Sea Glass")])
    o(number="TW-100002", customer=alice, address=alice_addr, method=alice_pm[1], status=OrderStatus.PROCESSING,
      placed_at=ago(2, 10), lines=[line("APP-003", "M / Yellow")])
    o(number="TW-100003", customer=alice, address=alice_addr, method=alice_pm[0], status=OrderStatus.SHIPPED,
      placed_at=ago(4, 9), shipped_at=ago(3, 15), shipment_status=ShipmentStatus.IN_TRANSIT,
      lines=[line("FTW-002", "US 8")])
    o(number="TW-100004", customer=alice, address=alice_addr, method=alice_pm[0], status=OrderStatus.DELIVERED,
      placed_at=ago(9, 11), shipped_at=ago(8, 10), delivered_at=ago(5, 14),
      lines=[line("APP-002", "M / Navy"), line("APP-004", "S/M")])
    o(number="TW-100005", customer=alice, address=alice_addr, method=alice_pm[0], status=OrderStatus.DELIVERED,
      placed_at=ago(66, 10), shipped_at=ago(65, 9), delivered_at=ago(60, 15), lines=[line("FTW-001", "US 9")])
    o(number="TW-100006", customer=alice, address=alice_addr, method=alice_pm[1], status=OrderStatus.DELIVERED,
      placed_at=ago(14, 8), shipped_at=ago(13, 12), delivered_at=ago(10, 16),
      lines=[line("APP-009", "M / Indigo"), line("ACC-001", "Natural")])
    o(number="TW-100007", customer=alice, address=alice_addr, method=alice_pm[0], status=OrderStatus.PENDING,
      placed_at=ago(1, 18), lines=[line("HOM-002", "Grey Check")],
      failed_payment=("insufficient_funds", "Your card has insufficient funds."), payment_failed_only=True)
    o(number="TW-100008", customer=alice, address=alice_addr, method=alice_pm[0], status=OrderStatus.CANCELLED,
      placed_at=ago(20, 10), cancelled_at=ago(20, 11), lines=[line("HOM-008", "Speckled White")])
    o(number="TW-100009", customer=alice, address=alice_addr, method=alice_pm[0], status=OrderStatus.RETURNED,
      placed_at=ago(50, 10), shipped_at=ago(49, 9), delivered_at=ago(45, 13), lines=[line("KIT-004", "8 cup")],
      returns=[ReturnSpec(lines=[(0, 1)], reason=ReturnReason.DAMAGED, status=ReturnStatus.REFUNDED,
                          requested_at=ago(40, 9), received_at=ago(35, 11), refunded_at=ago(34, 10))])

    # --- Bob: money questions and a stuck parcel -----------------------------------
    o(number="TW-100010", customer=bob, address=bob_addr, method=bob_pm[0], status=OrderStatus.DELIVERED,
      placed_at=ago(7, 10), shipped_at=ago(6, 14), delivered_at=ago(3, 11), lines=[line("KIT-003", "Steel")])
    o(number="TW-100011", customer=bob, address=bob_addr, method=bob_pm[0], status=OrderStatus.SHIPPED,
      placed_at=ago(6, 10), shipped_at=ago(5, 16), shipment_status=ShipmentStatus.EXCEPTION,
      lines=[line("OUT-002", "Moss")])
    o(number="TW-100012", customer=bob, address=bob_addr, method=bob_pm[0], status=OrderStatus.RETURN_REQUESTED,
      placed_at=ago(16, 10), shipped_at=ago(15, 9), delivered_at=ago(12, 14), lines=[line("APP-005", "M / Khaki")],
      returns=[ReturnSpec(lines=[(0, 1)], reason=ReturnReason.SIZE, status=ReturnStatus.LABEL_ISSUED,
                          requested_at=ago(10, 18))])
    o(number="TW-100013", customer=bob, address=bob_addr, method=bob_pm[0], status=OrderStatus.EXCHANGE_REQUESTED,
      placed_at=ago(12, 10), shipped_at=ago(11, 9), delivered_at=ago(8, 15), lines=[line("APP-001", "L / White")],
      returns=[ReturnSpec(lines=[(0, 1)], reason=ReturnReason.SIZE, status=ReturnStatus.LABEL_ISSUED,
                          requested_at=ago(6, 20), is_exchange=True,
                          exchange_skus=(variant_sku("APP-001", "XL / White"),))])
    o(number="TW-100014", customer=bob, address=bob_addr, method=bob_pm[0], status=OrderStatus.PROCESSING,
      placed_at=ago(1, 15), shipping_method=ShippingMethod.EXPRESS, lines=[line("ACC-004", "Black")])
    o(number="TW-100015", customer=bob, address=bob_addr, method=bob_pm[0], status=OrderStatus.DELIVERED,
      placed_at=ago(21, 10), shipped_at=ago(20, 9), delivered_at=ago(15, 17), lines=[line("KIT-001", "12 inch")],
      goodwill_refund=(Decimal("10.00"), "Goodwill credit: delivered three days late", ago(13, 10)))

    # --- Carmen: returns and exchanges at every stage ------------------------------
    o(number="TW-100016", customer=carmen, address=carmen_addr, method=carmen_pm[0],
      status=OrderStatus.PARTIALLY_RETURNED, placed_at=ago(30, 10), shipped_at=ago(29, 9), delivered_at=ago(25, 13),
      lines=[line("APP-004", "L/XL", 2), line("HOM-001", "Ink", 2)],
      returns=[ReturnSpec(lines=[(1, 1)], reason=ReturnReason.DAMAGED, status=ReturnStatus.REFUNDED,
                          requested_at=ago(22, 9), received_at=ago(17, 11), refunded_at=ago(15, 10))])
    o(number="TW-100017", customer=carmen, address=carmen_addr, method=carmen_pm[1], status=OrderStatus.EXCHANGED,
      placed_at=ago(45, 10), shipped_at=ago(44, 9), delivered_at=ago(40, 13), lines=[line("FTW-001", "US 10")],
      returns=[ReturnSpec(lines=[(0, 1)], reason=ReturnReason.SIZE, status=ReturnStatus.RECEIVED,
                          requested_at=ago(37, 9), received_at=ago(30, 11), is_exchange=True,
                          exchange_skus=(variant_sku("FTW-001", "US 11"),))])
    o(number="TW-100018", customer=carmen, address=carmen_addr, method=carmen_pm[0], status=OrderStatus.SHIPPED,
      placed_at=ago(3, 10), shipped_at=ago(2, 9), shipment_status=ShipmentStatus.OUT_FOR_DELIVERY,
      lines=[line("APP-012", "L / Black")])
    o(number="TW-100019", customer=carmen, address=carmen_addr, method=carmen_pm[0], status=OrderStatus.DELIVERED,
      placed_at=ago(33, 10), shipped_at=ago(32, 9), delivered_at=ago(28, 12),
      lines=[line("HOM-004", "Queen / White")])
    o(number="TW-100020", customer=carmen, address=carmen_addr, method=carmen_pm[0],
      status=OrderStatus.RETURN_REQUESTED, placed_at=ago(19, 10), shipped_at=ago(18, 9), delivered_at=ago(14, 13),
      lines=[line("KIT-001", "10 inch")],
      returns=[ReturnSpec(lines=[(0, 1)], reason=ReturnReason.NOT_AS_DESCRIBED, status=ReturnStatus.RECEIVED,
                          requested_at=ago(12, 9), received_at=ago(7, 11))])

    # --- Dana: a guest (no log-in) who verifies with order number + email -----------
    o(number="TW-100021", customer=dana, address=dana_addr, method=dana_pm[0], status=OrderStatus.SHIPPED,
      placed_at=ago(3, 14), shipped_at=ago(2, 10), lines=[line("HOM-003", "One size", 2), line("KIT-007", "Natural")])
    o(number="TW-100022", customer=dana, address=dana_addr, method=dana_pm[0], status=OrderStatus.DELIVERED,
      placed_at=ago(11, 10), shipped_at=ago(10, 9), delivered_at=ago(7, 15), lines=[line("OUT-001", "750 ml")])
    # fmt: on
