import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from apps.commerce.models import (
    AuditEvent,
    InvoiceStatus,
    OrderStatus,
    PaymentStatus,
    Refund,
    RefundStatus,
    ReturnStatus,
)
from apps.commerce.services import ReturnLine, refund_execute, return_create, return_mark_received
from apps.core.errors import ApplicationError
from tests.commerce.factories import make_order, make_variant

pytestmark = pytest.mark.django_db


def _refund(order, amount, key="k1", **kwargs):
    kwargs.setdefault("reason", "goodwill")
    kwargs.setdefault("actor_label", "staff:approver")
    return refund_execute(order=order, amount=Decimal(amount), idempotency_key=key, **kwargs)


def test_partial_refund_updates_payment_and_audits():
    # given
    order = make_order(status=OrderStatus.DELIVERED, items=[(make_variant(price="50.00"), 1)])
    # when
    refund = _refund(order, "20.00")
    # then
    payment = order.payments.get()
    order.refresh_from_db()
    assert (refund.amount, refund.status, refund.method, refund.currency) == (
        Decimal("20.00"),
        RefundStatus.SUCCEEDED,
        "original_payment",
        "USD",
    )
    assert refund.processor_reference.startswith("re_")
    assert refund.processed_at is not None
    assert (payment.refunded_amount, payment.status) == (Decimal("20.00"), PaymentStatus.PARTIALLY_REFUNDED)
    assert order.invoice.status == InvoiceStatus.PAID
    assert order.status == OrderStatus.DELIVERED
    events = list(AuditEvent.objects.values_list("subject_type", "action", "from_state", "to_state", "actor_label"))
    assert events == [
        ("refund", "refund.execute", "", "succeeded", "staff:approver"),
        ("payment", "payment.refund", "captured", "partially_refunded", "staff:approver"),
    ]
    assert AuditEvent.objects.get(action="refund.execute").data["idempotency_key"] == "k1"


def test_full_refund_credits_invoice():
    order = make_order(status=OrderStatus.DELIVERED, items=[(make_variant(price="50.00"), 1)])
    _refund(order, "30.00", key="a")

    _refund(order, "20.00", key="b")

    payment = order.payments.get()
    order.refresh_from_db()
    assert (payment.refunded_amount, payment.status) == (Decimal("50.00"), PaymentStatus.REFUNDED)
    assert order.invoice.status == InvoiceStatus.CREDITED
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [
        "refund.execute",
        "payment.refund",
        "refund.execute",
        "payment.refund",
        "invoice.credit",
    ]


def test_same_key_twice_returns_first_refund_and_pays_once():
    order = make_order(status=OrderStatus.DELIVERED, items=[(make_variant(price="50.00"), 1)])
    first = _refund(order, "10.00", key="approval-7")
    audit_count = AuditEvent.objects.count()

    second = _refund(order, "10.00", key="approval-7")

    assert second.pk == first.pk
    assert Refund.objects.count() == 1
    assert order.payments.get().refunded_amount == Decimal("10.00")
    assert AuditEvent.objects.count() == audit_count


def test_same_key_with_other_amount_is_a_conflict():
    order = make_order(status=OrderStatus.DELIVERED, items=[(make_variant(price="50.00"), 1)])
    _refund(order, "10.00", key="approval-8")

    with pytest.raises(ApplicationError) as exc:
        _refund(order, "11.00", key="approval-8")

    assert exc.value.code == "idempotency_conflict"
    assert Refund.objects.count() == 1
    assert order.payments.get().refunded_amount == Decimal("10.00")


def test_same_key_on_another_order_is_a_conflict():
    a = make_order(status=OrderStatus.DELIVERED)
    b = make_order(status=OrderStatus.DELIVERED)
    _refund(a, "5.00", key="shared")

    with pytest.raises(ApplicationError) as exc:
        _refund(b, "5.00", key="shared")

    assert exc.value.code == "idempotency_conflict"
    assert b.payments.get().refunded_amount == Decimal("0.00")
    assert b.refunds.count() == 0


@pytest.mark.parametrize("amount", ["50.01", "100.00"])
def test_amount_above_paid_is_refused(amount):
    order = make_order(status=OrderStatus.DELIVERED, items=[(make_variant(price="50.00"), 1)])

    with pytest.raises(ApplicationError) as exc:
        _refund(order, amount)

    assert exc.value.code == "amount_exceeds_paid"
    assert exc.value.extra == {"refundable": "50.00", "requested": amount}
    assert Refund.objects.count() == 0
    assert order.payments.get().refunded_amount == Decimal("0.00")
    assert AuditEvent.objects.count() == 0


def test_amount_above_what_is_left_after_earlier_refunds_is_refused():
    order = make_order(status=OrderStatus.DELIVERED, items=[(make_variant(price="50.00"), 1)])
    _refund(order, "45.00", key="first")

    with pytest.raises(ApplicationError) as exc:
        _refund(order, "5.01", key="second")

    assert exc.value.code == "amount_exceeds_paid"
    assert exc.value.extra["refundable"] == "5.00"
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("amount", ["0", "-1.00", "0.001", "abc"])
def test_non_positive_or_malformed_amount_is_refused(amount):
    order = make_order(status=OrderStatus.DELIVERED)

    with pytest.raises(ApplicationError) as exc:
        refund_execute(order=order, amount=amount, reason="x", idempotency_key="k", actor_label="agent")

    assert exc.value.code == "invalid_amount"
    assert Refund.objects.count() == 0
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize("payment_status", [PaymentStatus.AUTHORIZED, PaymentStatus.FAILED, PaymentStatus.VOIDED])
def test_refund_without_captured_payment_is_refused(payment_status):
    order = make_order(status=OrderStatus.PENDING, payment_status=payment_status)

    with pytest.raises(ApplicationError) as exc:
        _refund(order, "1.00")

    assert exc.value.code == "no_captured_payment"
    assert Refund.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_missing_key_or_reason_is_refused():
    order = make_order(status=OrderStatus.DELIVERED)

    with pytest.raises(ApplicationError) as no_key:
        _refund(order, "1.00", key="  ")
    with pytest.raises(ApplicationError) as no_reason:
        _refund(order, "1.00", reason="")

    assert no_key.value.code == "idempotency_key_required"
    assert no_reason.value.code == "reason_required"
    assert Refund.objects.count() == 0


def _received_return(quantity_bought=2, quantity_returned=2, price="20.00"):
    order = make_order(
        status=OrderStatus.DELIVERED,
        items=[(make_variant(price=price), quantity_bought)],
        delivered_at=timezone.now() - timedelta(days=2),
    )
    rr = return_create(
        order=order, items=[ReturnLine(order.items.get().pk, quantity_returned)], reason="damaged", actor_label="agent"
    )
    return_mark_received(return_request=rr, actor_label="system")
    return order, rr


def test_refund_for_full_return_marks_return_refunded_and_order_returned():
    order, rr = _received_return(quantity_bought=2, quantity_returned=2)

    refund = _refund(order, "40.00", key="ret-1", return_request=rr)

    order.refresh_from_db()
    rr.refresh_from_db()
    assert refund.return_request_id == rr.pk
    assert rr.status == ReturnStatus.REFUNDED
    assert order.status == OrderStatus.RETURNED
    assert order.invoice.status == InvoiceStatus.CREDITED
    assert list(
        AuditEvent.objects.filter(action__in=["return.refund", "order.complete_return"]).values_list(
            "action", "from_state", "to_state"
        )
    ) == [("return.refund", "received", "refunded"), ("order.complete_return", "return_requested", "returned")]


def test_refund_for_partial_return_marks_order_partially_returned():
    order, rr = _received_return(quantity_bought=3, quantity_returned=1)

    _refund(order, "20.00", key="ret-2", return_request=rr)

    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_RETURNED
    assert order.payments.get().status == PaymentStatus.PARTIALLY_REFUNDED


def test_refund_for_return_not_yet_received_is_refused():
    order = make_order(status=OrderStatus.DELIVERED, delivered_at=timezone.now() - timedelta(days=1))
    rr = return_create(order=order, items=None, reason="size", actor_label="agent")

    with pytest.raises(ApplicationError) as exc:
        _refund(order, "5.00", return_request=rr)

    assert exc.value.code == "invalid_transition"
    rr.refresh_from_db()
    order.refresh_from_db()
    assert rr.status == ReturnStatus.LABEL_ISSUED
    assert order.status == OrderStatus.RETURN_REQUESTED
    assert Refund.objects.count() == 0
    assert order.payments.get().refunded_amount == Decimal("0.00")


def test_refund_with_return_of_another_order_is_refused():
    _, rr = _received_return()
    other = make_order(status=OrderStatus.DELIVERED)

    with pytest.raises(ApplicationError) as exc:
        _refund(other, "5.00", return_request=rr)

    assert exc.value.code == "return_not_for_order"
    assert Refund.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_attempts_with_one_key_refund_once():
    # given an order and eight workers racing with the same approval's key
    order = make_order(status=OrderStatus.DELIVERED, items=[(make_variant(price="50.00"), 1)])
    barrier = threading.Barrier(8)
    results: list[object] = []
    lock = threading.Lock()

    def attempt():
        try:
            barrier.wait(timeout=10)
            refund = _refund(order, "30.00", key="approval-race")
            outcome: object = refund.pk
        except Exception as exc:
            outcome = exc
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    # when
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    # then
    refund = Refund.objects.get()
    assert results == [refund.pk] * 8
    payment = order.payments.get()
    assert payment.refunded_amount == Decimal("30.00")
    assert AuditEvent.objects.filter(action="refund.execute").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_different_keys_never_exceed_paid():
    order = make_order(status=OrderStatus.DELIVERED, items=[(make_variant(price="50.00"), 1)])
    barrier = threading.Barrier(4)
    codes: list[str] = []
    lock = threading.Lock()

    def attempt(i):
        try:
            barrier.wait(timeout=10)
            _refund(order, "20.00", key=f"k-{i}")
            outcome = "ok"
        except ApplicationError as exc:
            outcome = exc.code
        finally:
            connection.close()
        with lock:
            codes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(codes) == ["amount_exceeds_paid", "amount_exceeds_paid", "ok", "ok"]
    assert order.payments.get().refunded_amount == Decimal("40.00")
    assert Refund.objects.count() == 2
