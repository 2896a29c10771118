import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count, Sum
from django.utils import timezone

from apps.accounts.demo import DEMO_CUSTOMERS, DEMO_PASSWORD, DEMO_STAFF
from apps.accounts.models import User
from apps.commerce.demo.generator import digest, digest_database, generate
from apps.commerce.demo.seed import seed_demo
from apps.commerce.models import (
    Customer,
    InvoiceStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Product,
    Refund,
    ReturnItem,
    ReturnRequest,
    ReturnStatus,
    Shipment,
    TrackingEvent,
)
from apps.commerce.selectors import order_get_for_customer, payment_failure_help_for_customer
from apps.commerce.services import (
    ReturnLine,
    order_cancel,
    refund_execute,
    return_check_eligibility,
    return_mark_received,
)
from apps.core.errors import ApplicationError

pytestmark = pytest.mark.django_db

BASE = date(2026, 3, 15)
SMALL = {"customers": 12, "orders": 40}


def test_generation_is_deterministic_for_a_seed_and_base_date():
    first = generate(seed=7, base_date=BASE, **SMALL)
    second = generate(seed=7, base_date=BASE, **SMALL)
    other_seed = generate(seed=8, base_date=BASE, **SMALL)

    assert digest(first) == digest(second)
    assert first.counts() == second.counts()
    assert digest(first) != digest(other_seed)


def test_demo_orders_keep_their_numbers_whatever_the_sizes():
    small = generate(seed=7, base_date=BASE, customers=1, orders=0)
    large = generate(seed=7, base_date=BASE, **SMALL)

    demo = [o.number for o in small.orders]
    assert demo == [f"TW-1000{n:02d}" for n in range(1, 23)]
    assert [o.number for o in large.orders[: len(demo)]] == demo


def test_written_data_matches_generated_data():
    data = generate(seed=7, base_date=BASE, **SMALL)
    expected = digest(data)

    seed_demo(seed=7, base_date=BASE, **SMALL)

    assert digest_database() == expected


def test_small_seed_covers_every_status_and_is_consistent():
    # given
    counts = seed_demo(seed=3, base_date=BASE, **SMALL)
    # then every order status occurs
    assert counts is not None
    assert set(Order.objects.values_list("status", flat=True)) == set(OrderStatus.values)
    # payments: refunded amount equals the refunds made, never above the amount
    for payment in Payment.objects.annotate(refunds_total=Sum("refunds__amount")):
        assert payment.refunded_amount == (payment.refunds_total or Decimal("0.00"))
        assert payment.refunded_amount <= payment.amount
    # an order's money adds up
    for order in Order.objects.prefetch_related("items"):
        assert order.subtotal == sum(i.unit_price * i.quantity for i in order.items.all())
        assert order.total == order.subtotal + order.shipping_fee + order.tax
    # shipping and delivery facts match the status
    shipped_on = set(OrderStatus.values) - {OrderStatus.PENDING, OrderStatus.PROCESSING, OrderStatus.CANCELLED}
    assert not Order.objects.filter(status__in=shipped_on, shipments__isnull=True).exists()
    assert not Order.objects.exclude(status__in=shipped_on).filter(shipments__isnull=False).exists()
    assert not Order.objects.filter(status__in=shipped_on - {OrderStatus.SHIPPED}, delivered_at__isnull=True).exists()
    anchor = datetime(2026, 3, 15, tzinfo=UTC)
    assert not TrackingEvent.objects.filter(occurred_at__gt=anchor).exists()
    assert not Order.objects.filter(placed_at__gt=anchor).exists()
    # pending orders are authorized or failed, never captured
    assert not Payment.objects.filter(order__status=OrderStatus.PENDING, status=PaymentStatus.CAPTURED).exists()
    assert not Payment.objects.filter(order__status=OrderStatus.CANCELLED, status=PaymentStatus.CAPTURED).exists()
    # returns never exceed what was bought; exchanges swap within the product
    for ri in ReturnItem.objects.select_related("order_item__variant", "exchange_variant", "return_request"):
        assert ri.quantity <= ri.order_item.quantity
        assert not ri.order_item.final_sale
        if ri.return_request.is_exchange:
            assert ri.exchange_variant.product_id == ri.order_item.variant.product_id
            assert ri.exchange_variant_id != ri.order_item.variant_id
        else:
            assert ri.exchange_variant is None
    assert set(ReturnRequest.objects.filter(order__status=OrderStatus.RETURNED).values_list("status", flat=True)) == {
        ReturnStatus.REFUNDED
    }
    assert not Refund.objects.filter(
        return_request__isnull=False, return_request__status__in=[ReturnStatus.LABEL_ISSUED, ReturnStatus.RECEIVED]
    ).exists()
    assert not Order.objects.filter(status=OrderStatus.CANCELLED).exclude(invoice__status=InvoiceStatus.VOID).exists()


def test_seed_demo_command_full_size_once_then_idempotent_and_fast():
    # given / when
    out = StringIO()
    call_command("seed_demo", force=True, base_date=BASE, stdout=out)
    first_counts = {
        "customers": Customer.objects.count(),
        "products": Product.objects.count(),
        "orders": Order.objects.count(),
        "shipments": Shipment.objects.count(),
        "refunds": Refund.objects.count(),
        "returns": ReturnRequest.objects.count(),
    }
    started = time.monotonic()
    call_command("seed_demo", force=True, stdout=out)
    second_run = time.monotonic() - started
    # then
    assert first_counts["customers"] >= 200
    assert first_counts["products"] >= 50
    assert first_counts["orders"] >= 1000
    assert first_counts["refunds"] >= 3
    assert first_counts["returns"] >= 3
    statuses = dict(Order.objects.values_list("status").annotate(n=Count("id")))
    assert set(statuses) == set(OrderStatus.values)
    assert min(statuses.values()) >= 10
    assert Payment.objects.filter(status=PaymentStatus.FAILED).count() >= 10
    assert Product.objects.filter(final_sale=True).count() >= 3
    assert second_run < 2.0
    assert Order.objects.count() == first_counts["orders"]
    assert "already present, nothing to do" in out.getvalue()


def test_seed_demo_refuses_without_debug_unless_forced():
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())
    assert Order.objects.count() == 0


def test_demo_logins_and_roles():
    seed_demo(seed=1, base_date=BASE, customers=1, orders=0)

    for username, email, _, _ in DEMO_CUSTOMERS:
        user = User.objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
        assert user.customer.email == email
        assert user.is_staff is False
    for username, role, is_superuser in DEMO_STAFF:
        user = User.objects.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
        assert (user.is_staff, user.is_superuser) == (True, is_superuser)
        assert list(user.groups.values_list("name", flat=True)) == ([role] if role else [])


@pytest.fixture
def demo_today():
    seed_demo(seed=1, base_date=timezone.localdate(), customers=1, orders=0)
    return {c.user.username if c.user else c.email: c for c in Customer.objects.select_related("user")}


def test_alice_scenarios_behave_as_documented(demo_today):
    alice = demo_today["alice"]

    def order(number):
        return order_get_for_customer(customer=alice, number=number)

    delivered_5 = return_check_eligibility(order=order("TW-100004"))
    assert delivered_5.eligible is True
    assert delivered_5.window_ends_on == timezone.localdate() + timedelta(days=25)
    assert return_check_eligibility(order=order("TW-100005")).reason_codes == ["window_closed"]
    final_sale = order("TW-100006")
    jacket, tote = final_sale.items.all()
    verdict = return_check_eligibility(
        order=final_sale, items=[ReturnLine(jacket.pk, 1), ReturnLine(tote.pk, 1)], reason="changed_mind"
    )
    assert [(v.sku, v.eligible) for v in verdict.items] == [(jacket.sku, False), (tote.sku, True)]
    help_ = payment_failure_help_for_customer(customer=alice, number="TW-100007")
    assert help_ is not None
    assert help_.failure_code == "insufficient_funds"
    with pytest.raises(ApplicationError) as exc:
        order_cancel(order=order("TW-100002"), actor_label=f"customer:{alice.pk}")
    assert exc.value.code == "invalid_transition"
    assert order_cancel(order=order("TW-100001"), actor_label=f"customer:{alice.pk}").status == "cancelled"
    assert order("TW-100003").shipments.get().status == "in_transit"
    returned = order("TW-100009")
    assert returned.status == OrderStatus.RETURNED
    assert (returned.payments.get().status, returned.invoice.status) == (PaymentStatus.REFUNDED, InvoiceStatus.CREDITED)


def test_other_demo_scenarios_behave_as_documented(demo_today):
    bob, carmen, dana = demo_today["bob"], demo_today["carmen"], demo_today["dana.guest@example.com"]

    espresso = order_get_for_customer(customer=bob, number="TW-100010")
    assert espresso.total > Decimal("500.00")
    assert order_get_for_customer(customer=bob, number="TW-100011").shipments.get().status == "exception"
    goodwill = order_get_for_customer(customer=bob, number="TW-100015").payments.get()
    assert (goodwill.status, goodwill.refunded_amount) == (PaymentStatus.PARTIALLY_REFUNDED, Decimal("10.00"))
    assert return_check_eligibility(order=order_get_for_customer(customer=carmen, number="TW-100019")).eligible
    # Carmen's received return can be refunded: the order becomes returned
    skillet = order_get_for_customer(customer=carmen, number="TW-100020")
    rr = skillet.return_requests.get()
    assert rr.status == ReturnStatus.RECEIVED
    refund_execute(
        order=skillet,
        amount=Decimal("73.45"),  # 65.00 + 13% tax; not-as-described returns carry no fee
        reason="Return received",
        idempotency_key="scenario-1",
        actor_label="system",
        return_request=rr,
    )
    skillet.refresh_from_db()
    assert skillet.status == OrderStatus.RETURNED
    assert skillet.payments.get().status == PaymentStatus.REFUNDED
    # Bob's exchange completes when the parcel arrives
    exchange = order_get_for_customer(customer=bob, number="TW-100013")
    return_mark_received(return_request=exchange.return_requests.get(), actor_label="system")
    exchange.refresh_from_db()
    assert exchange.status == OrderStatus.EXCHANGED
    assert dana.user is None
    assert {o.number for o in dana.orders.all()} == {"TW-100021", "TW-100022"}


def test_existing_admin_user_is_kept_and_the_rest_is_seeded():
    admin = User.objects.create_superuser(username="admin", email="me@example.test", password="mine")

    counts = seed_demo(seed=1, base_date=BASE, customers=2, orders=3)

    admin.refresh_from_db()
    assert counts is not None
    assert counts["existing users kept"] == 1
    assert admin.check_password("mine")
    assert User.objects.filter(username="admin").count() == 1
    assert User.objects.get(username="agent").check_password(DEMO_PASSWORD)


def test_existing_demo_customer_rows_make_the_command_refuse_and_write_nothing():
    Customer.objects.create(email="alice@example.com", first_name="A", last_name="M")

    with pytest.raises(CommandError, match=r"customers: alice@example\.com"):
        call_command("seed_demo", force=True, customers=2, orders=3, stdout=StringIO())

    assert Order.objects.count() == 0
    assert User.objects.count() == 0


def test_timestamps_tell_a_consistent_story():
    seed_demo(seed=5, base_date=BASE, **SMALL)

    for customer in Customer.objects.prefetch_related("orders"):
        placed = [o.placed_at for o in customer.orders.all()]
        if placed:
            assert customer.created_at < min(placed)
    for order in Order.objects.prefetch_related("shipments__events", "payments"):
        assert order.created_at == order.placed_at
        for shipment in order.shipments.all():
            times = [e.occurred_at for e in shipment.events.all()]
            assert times == sorted(times)
            assert order.placed_at <= shipment.shipped_at
            if order.delivered_at:
                assert shipment.shipped_at < order.delivered_at
                assert times[-1] == order.delivered_at
        if order.cancelled_at:
            assert order.placed_at < order.cancelled_at
    for rr in ReturnRequest.objects.select_related("order"):
        assert rr.order.delivered_at < rr.created_at
        if rr.received_at:
            assert rr.created_at < rr.received_at
