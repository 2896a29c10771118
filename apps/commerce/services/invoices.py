"""Invoice copies by email (sent only after the transaction commits)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string

from apps.accounts.models import User
from apps.commerce.models import Invoice
from apps.core.errors import ApplicationError

from ._common import audit, check_actor


def _normalise_email(value: str) -> str:
    return (value or "").strip().lower()


@transaction.atomic
def invoice_send_copy(*, invoice: Invoice, to_email: str, actor_label: str, actor: User | None = None) -> Invoice:
    """Email a copy of the invoice. Only to the address on the customer's record, unless staff send it.

    An invoice carries an address and what was bought, so the agent may never
    send it to an address the customer merely typed into the chat.
    """
    check_actor(actor_label, actor)
    to_email = _normalise_email(to_email)
    if not to_email or "@" not in to_email:
        raise ApplicationError("A valid email address is required.", code="invalid_email")
    invoice = Invoice.objects.select_related("order__customer").get(pk=invoice.pk)
    order = invoice.order
    on_file = _normalise_email(order.customer.email)
    if not actor_label.startswith("staff:") and not hmac.compare_digest(to_email, on_file):
        raise ApplicationError("Invoice copies go only to the email address on the account.", code="email_not_on_file")
    body = render_to_string(
        "commerce/email/invoice_copy.txt",
        {"invoice": invoice, "order": order, "items": list(order.items.all()), "shop_name": settings.SHOP_NAME},
    )
    subject = f"{settings.SHOP_NAME}: invoice {invoice.number} for order {order.number}"
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to_email],
        reply_to=[settings.SHOP_SUPPORT_EMAIL],
    )
    audit(
        subject=invoice,
        order=order,
        action="invoice.send_copy",
        from_state=invoice.status,
        to_state=invoice.status,
        actor_label=actor_label,
        actor=actor,
        data={"to_email": to_email},
    )
    transaction.on_commit(lambda: message.send(fail_silently=False))
    return invoice
