"""Builders and fixtures for the support desk tests: a delivered, paid order, staff in each role,
and a recorder for the events pushed to sockets (the channel layer is replaced by a list)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.roles import REFUND_APPROVER, SUPPORT_AGENT, SUPPORT_LEAD
from apps.commerce.models import (
    Customer,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentStatus,
    Product,
    ProductVariant,
)
from apps.conversations.models import Conversation
from tests.conversations.conftest import turns  # noqa: F401  (the console tests record enqueued turns)
from tests.conversations.test_browser import browser, live_server_url  # noqa: F401  (the desk's browser tests)

_seq = itertools.count(1)


def make_staff(role: str | None, *, username: str | None = None) -> User:
    n = next(_seq)
    username = username or f"{role or 'staff'}{n}"
    user = User.objects.create_user(
        username=username, email=f"{username}@staff.test", password="pw", is_staff=True, first_name=username.title()
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def make_customer(*, with_user: bool = True) -> Customer:
    n = next(_seq)
    user = (
        User.objects.create_user(username=f"shopper{n}", email=f"shopper{n}@example.test", password="pw")
        if with_user
        else None
    )
    return Customer.objects.create(email=f"shopper{n}@example.test", first_name="Sam", last_name=f"S{n}", user=user)


def make_order(
    customer: Customer,
    *,
    prices: tuple[str, ...] = ("60.00", "40.00"),
    final_sale: bool = False,
    delivered_days_ago: int = 5,
    paid: bool = True,
) -> Order:
    n = next(_seq)
    now = timezone.now()
    subtotal = sum((Decimal(p) for p in prices), Decimal("0.00"))
    order = Order.objects.create(
        number=f"TW-{700000 + n}",
        customer=customer,
        status=OrderStatus.DELIVERED,
        subtotal=subtotal,
        total=subtotal,
        ship_name=customer.full_name,
        ship_line1="1 Test Street",
        ship_city="Testville",
        ship_postal_code="12345",
        ship_country="US",
        placed_at=now - timedelta(days=delivered_days_ago + 4),
        delivered_at=now - timedelta(days=delivered_days_ago),
    )
    for i, price in enumerate(prices):
        product = Product.objects.create(
            sku=f"SP{n}-{i}", name=f"Thing {n}-{i}", category="test", final_sale=final_sale
        )
        variant = ProductVariant.objects.create(product=product, sku=f"SP{n}-{i}-M", name="M", price=Decimal(price))
        OrderItem.objects.create(
            order=order,
            variant=variant,
            product_name=product.name,
            variant_name="M",
            sku=variant.sku,
            quantity=1,
            unit_price=Decimal(price),
            final_sale=final_sale,
        )
    if paid:
        Payment.objects.create(order=order, amount=subtotal, status=PaymentStatus.CAPTURED)
    return order


@pytest.fixture
def customer() -> Customer:
    return make_customer()


@pytest.fixture
def order(customer: Customer) -> Order:
    return make_order(customer)


@pytest.fixture
def conversation(customer: Customer) -> Conversation:
    return Conversation.objects.create(customer=customer)


@pytest.fixture
def approver() -> User:
    return make_staff(REFUND_APPROVER)


@pytest.fixture
def approver2() -> User:
    return make_staff(REFUND_APPROVER)


@pytest.fixture
def lead() -> User:
    return make_staff(SUPPORT_LEAD)


@pytest.fixture
def agent_user() -> User:
    return make_staff(SUPPORT_AGENT)


class Pushed(list):
    """Events sent to the channel layer, as (group, event) pairs."""

    def to_conversation(self, conversation: Conversation, event: str | None = None) -> list[dict[str, Any]]:
        group = f"conversation.{conversation.public_id}"
        return [e for g, e in self if g == group and (event is None or e["event"] == event)]

    def to_staff(self, event: str | None = None) -> list[dict[str, Any]]:
        return [e for g, e in self if g == "staff.console" and (event is None or e["event"] == event)]


@pytest.fixture
def pushed(monkeypatch: pytest.MonkeyPatch) -> Pushed:
    recorded = Pushed()
    monkeypatch.setattr("apps.conversations.events._send", lambda group, event: recorded.append((group, event)))
    return recorded
