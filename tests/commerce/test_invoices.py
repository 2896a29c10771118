import pytest
from django.core import mail

from apps.commerce.models import AuditEvent, OrderStatus
from apps.commerce.services import invoice_send_copy
from apps.core.errors import ApplicationError
from tests.commerce.factories import make_customer, make_order, make_user

pytestmark = pytest.mark.django_db


def test_send_copy_to_email_on_file_after_commit(django_capture_on_commit_callbacks):
    # given
    customer = make_customer(email="Alice@Example.com", first_name="Alice")
    order = make_order(customer=customer, status=OrderStatus.DELIVERED)
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice_send_copy(invoice=order.invoice, to_email=" alice@example.com ", actor_label="agent")
        sent_before_commit = len(mail.outbox)
    for callback in callbacks:
        callback()
    # then
    assert sent_before_commit == 0
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == f"Tidewater Goods: invoice {order.invoice.number} for order {order.number}"
    assert "Hello Alice," in message.body
    assert f"Total:    {order.invoice.total} USD" in message.body
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_label, event.data) == (
        "invoice.send_copy",
        "agent",
        {"to_email": "alice@example.com"},
    )


def test_send_copy_to_another_address_is_refused_for_agent(django_capture_on_commit_callbacks):
    order = make_order(status=OrderStatus.DELIVERED)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError) as exc:
        invoice_send_copy(invoice=order.invoice, to_email="attacker@evil.example", actor_label="agent")

    assert exc.value.code == "email_not_on_file"
    assert mail.outbox == []
    assert AuditEvent.objects.count() == 0


def test_staff_may_send_copy_to_another_address(django_capture_on_commit_callbacks):
    order = make_order(status=OrderStatus.DELIVERED)
    staff = make_user(username="lead1", is_staff=True)

    with django_capture_on_commit_callbacks(execute=True):
        invoice_send_copy(
            invoice=order.invoice, to_email="accounts@company.example", actor_label="staff:lead1", actor=staff
        )

    assert [m.to for m in mail.outbox] == [["accounts@company.example"]]
    assert AuditEvent.objects.get().actor == staff


def test_send_copy_refuses_malformed_email(django_capture_on_commit_callbacks):
    order = make_order(status=OrderStatus.DELIVERED)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError) as exc:
        invoice_send_copy(invoice=order.invoice, to_email="nope", actor_label="staff:x")

    assert exc.value.code == "invalid_email"
    assert mail.outbox == []
