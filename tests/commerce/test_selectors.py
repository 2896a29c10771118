from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser

from apps.commerce.models import OrderStatus, PaymentMethod, PaymentStatus
from apps.commerce.selectors import (
    customer_for_user,
    invoice_get_for_customer,
    invoice_list_for_customer,
    normalise_order_number,
    order_find_for_guest,
    order_get_for_customer,
    order_list_for_customer,
    payment_failure_help_for_customer,
    payment_list_for_customer,
    payment_methods_for_customer,
    refund_list_for_customer,
    return_list_for_customer,
    shipment_list_for_customer,
)
from apps.commerce.services import refund_execute
from apps.core.errors import NotFound
from tests.commerce.factories import make_customer, make_order, make_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("raw", ["TW-123456", "tw-123456", "#TW123456", " 123456 ", "tw 123456"])
def test_order_number_normalisation(raw):
    assert normalise_order_number(raw) == "TW-123456"


def test_customer_for_user():
    user = make_user()
    customer = make_customer(user=user)

    assert customer_for_user(user) == customer
    assert customer_for_user(AnonymousUser()) is None
    assert customer_for_user(make_user()) is None
    assert customer_for_user(None) is None


def test_order_list_is_scoped_newest_first_and_limited():
    alice, bob = make_customer(), make_customer()
    a1 = make_order(customer=alice, status=OrderStatus.PENDING)
    a2 = make_order(customer=alice, status=OrderStatus.SHIPPED)
    make_order(customer=bob)

    assert {o.pk for o in order_list_for_customer(customer=alice)} == {a1.pk, a2.pk}
    assert [o.pk for o in order_list_for_customer(customer=alice, status="shipped")] == [a2.pk]
    assert len(order_list_for_customer(customer=alice, limit=1)) == 1
    assert order_list_for_customer(customer=None) == []


def test_get_another_customers_order_is_not_found():
    alice, bob = make_customer(), make_customer()
    bobs = make_order(customer=bob)

    with pytest.raises(NotFound):
        order_get_for_customer(customer=alice, number=bobs.number)
    with pytest.raises(NotFound):
        order_get_for_customer(customer=None, number=bobs.number)
    assert order_get_for_customer(customer=bob, number=bobs.number.lower()).pk == bobs.pk


def test_verified_guest_sees_only_that_order():
    customer = make_customer()
    verified = make_order(customer=customer)
    other_of_same_customer = make_order(customer=customer)

    assert order_get_for_customer(customer=None, number=verified.number, only_order=verified).pk == verified.pk
    with pytest.raises(NotFound):
        order_get_for_customer(customer=None, number=other_of_same_customer.number, only_order=verified)
    assert [i.order_id for i in invoice_list_for_customer(customer=None, only_order=verified)] == [verified.pk]
    assert [p.order_id for p in payment_list_for_customer(customer=None, only_order=verified)] == [verified.pk]


def test_guest_lookup_needs_matching_number_and_email():
    customer = make_customer(email="Guest@Example.com")
    order = make_order(customer=customer)

    assert order_find_for_guest(number=order.number, email=" guest@example.com").pk == order.pk
    for number, email in [
        (order.number, "other@example.com"),
        (order.number, ""),
        ("TW-000000", "guest@example.com"),
        ("", ""),
    ]:
        with pytest.raises(NotFound) as exc:
            order_find_for_guest(number=number, email=email)
        assert exc.value.message == "No order matches that number and email address."


def test_shipments_with_tracking_events_are_scoped():
    alice, bob = make_customer(), make_customer()
    order = make_order(customer=alice, status=OrderStatus.SHIPPED)

    shipments = shipment_list_for_customer(customer=alice, number=order.number)

    assert [(s.carrier, [e.status for e in s.events.all()]) for s in shipments] == [("UPS", ["in_transit"])]
    with pytest.raises(NotFound):
        shipment_list_for_customer(customer=bob, number=order.number)


def test_invoice_get_by_invoice_or_order_number_and_scoped():
    alice, bob = make_customer(), make_customer()
    order = make_order(customer=alice)

    assert invoice_get_for_customer(customer=alice, number=order.invoice.number).pk == order.invoice.pk
    assert invoice_get_for_customer(customer=alice, number=order.number).pk == order.invoice.pk
    with pytest.raises(NotFound):
        invoice_get_for_customer(customer=bob, number=order.invoice.number)


def test_payment_methods_are_masked():
    customer = make_customer()
    PaymentMethod.objects.create(
        customer=customer, kind="card", brand="Visa", last4="1111", exp_month=3, exp_year=2029, is_default=True
    )
    PaymentMethod.objects.create(customer=customer, kind="paypal")

    views = payment_methods_for_customer(customer=customer)

    assert [(v.kind, v.label, v.expires, v.is_default) for v in views] == [
        ("card", "Visa •••• 1111", "03/2029", True),
        ("paypal", "PayPal", "", False),
    ]
    assert payment_methods_for_customer(customer=None) == []


def test_payment_failure_help():
    customer = make_customer()
    failed = make_order(customer=customer, payment_status=PaymentStatus.FAILED)
    failed.payments.update(failure_code="insufficient_funds")
    fine = make_order(customer=customer)

    help_ = payment_failure_help_for_customer(customer=customer, number=failed.number)

    assert help_ is not None
    assert help_.failure_code == "insufficient_funds"
    assert help_.explanation == "The bank declined the charge for insufficient funds."
    assert payment_failure_help_for_customer(customer=customer, number=fine.number) is None
    with pytest.raises(NotFound):
        payment_failure_help_for_customer(customer=make_customer(), number=failed.number)


def test_returns_and_refunds_are_scoped():
    alice, bob = make_customer(), make_customer()
    order = make_order(customer=alice, status=OrderStatus.DELIVERED)
    refund_execute(order=order, amount=Decimal("1.00"), reason="late", idempotency_key="s1", actor_label="agent")

    assert [r.order_id for r in refund_list_for_customer(customer=alice)] == [order.pk]
    assert refund_list_for_customer(customer=bob) == []
    assert return_list_for_customer(customer=bob) == []
    assert refund_list_for_customer(customer=None) == []


def test_exchange_options_list_sibling_variants_with_stock():
    from apps.commerce.models import ProductVariant
    from apps.commerce.selectors import exchange_options_for_customer
    from tests.commerce.factories import make_variant

    customer = make_customer()
    medium = make_variant(name="Harbor Tee")
    large = ProductVariant.objects.create(product=medium.product, sku="X-L", name="L", price=medium.price, stock=0)
    small = ProductVariant.objects.create(product=medium.product, sku="X-S", name="S", price=medium.price, stock=2)
    sale = make_variant(final_sale=True)
    order = make_order(customer=customer, status=OrderStatus.DELIVERED, items=[(medium, 1), (sale, 1)])

    options = exchange_options_for_customer(customer=customer, number=order.number)

    assert [(o.product_name, o.current_variant, o.variant_id, o.in_stock) for o in options] == [
        ("Harbor Tee", "M", large.pk, False),
        ("Harbor Tee", "M", small.pk, True),
    ]
    with pytest.raises(NotFound):
        exchange_options_for_customer(customer=make_customer(), number=order.number)
