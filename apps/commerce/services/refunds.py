"""Money back to a customer: the only code path that refunds anything.

`refund_execute` runs exactly once per idempotency key. The key is unique in
the database and the work happens under row locks on the order and its
payments, so a retried task, a double click or two workers racing all end
with one refund row and one payment update.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from apps.accounts.models import User
from apps.commerce.models import (
    Invoice,
    InvoiceStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundMethod,
    RefundStatus,
    ReturnItem,
    ReturnRequest,
    ReturnStatus,
)
from apps.core.errors import ApplicationError

from ._common import audit, change_state, check_actor, ensure_transition, lock_order, lock_row
from .return_policy import OPEN_RETURN_STATUSES

REFUNDABLE_PAYMENT_STATUSES = (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED)


def _money(amount: Decimal | str | int) -> Decimal:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        raise ApplicationError("The refund amount is not a number.", code="invalid_amount") from None
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise ApplicationError("The refund amount must be in whole cents.", code="invalid_amount")
    if value <= 0:
        raise ApplicationError("The refund amount must be greater than zero.", code="invalid_amount")
    return value.quantize(Decimal("0.01"))


def _processor_refund(*, payment: Payment, amount: Decimal, idempotency_key: str) -> str:
    """The seam to a payment processor. The demo shop has none, so the refund succeeds with a
    reference derived from the idempotency key (processors take the same key, so a retry is a no-op there too)."""
    return "re_" + hashlib.sha256(f"{payment.pk}:{idempotency_key}".encode()).hexdigest()[:20]


def _replay(
    existing: Refund, *, order: Order, amount: Decimal, method: str, return_request: ReturnRequest | None
) -> Refund:
    same = (
        existing.order_id == order.pk
        and existing.amount == amount
        and existing.method == method
        and existing.return_request_id == (return_request.pk if return_request else None)
    )
    if not same:
        raise ApplicationError(
            "This idempotency key was already used for a different refund.",
            code="idempotency_conflict",
            extra={"refund_id": existing.pk},
        )
    return existing


def refund_execute(
    *,
    order: Order,
    amount: Decimal,
    reason: str,
    idempotency_key: str,
    actor_label: str,
    actor: User | None = None,
    return_request: ReturnRequest | None = None,
    method: str = RefundMethod.ORIGINAL_PAYMENT,
) -> Refund:
    """Refund `amount` of the order's captured payment, exactly once per `idempotency_key`.

    A key seen before returns the refund it made (same order, amount, method and
    return) or raises `idempotency_conflict`. Refuses amounts <= 0 and above what
    was captured minus already refunded (`amount_exceeds_paid`). With a received
    `return_request` the return becomes refunded and the order (partially) returned.
    """
    check_actor(actor_label, actor)
    amount = _money(amount)
    idempotency_key = (idempotency_key or "").strip()
    if not idempotency_key or len(idempotency_key) > 80:
        raise ApplicationError("An idempotency key (1-80 characters) is required.", code="idempotency_key_required")
    if method not in RefundMethod.values:
        raise ApplicationError(f"'{method}' is not a refund method.", code="invalid_refund_method")
    reason = " ".join((reason or "").split())[:255]
    if not reason:
        raise ApplicationError("A refund needs a reason.", code="reason_required")
    if return_request is not None and return_request.order_id != order.pk:
        raise ApplicationError("That return belongs to another order.", code="return_not_for_order")

    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replay(existing, order=order, amount=amount, method=method, return_request=return_request)
    try:
        with transaction.atomic():
            return _execute_locked(
                order=order,
                amount=amount,
                reason=reason,
                idempotency_key=idempotency_key,
                actor_label=actor_label,
                actor=actor,
                return_request=return_request,
                method=method,
            )
    except IntegrityError:
        # Another transaction inserted the same key (on another order's lock) and committed first.
        existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        return _replay(existing, order=order, amount=amount, method=method, return_request=return_request)


def _execute_locked(
    *,
    order: Order,
    amount: Decimal,
    reason: str,
    idempotency_key: str,
    actor_label: str,
    actor: User | None,
    return_request: ReturnRequest | None,
    method: str,
) -> Refund:
    order = lock_order(order)
    payments = list(Payment.objects.select_for_update().filter(order=order).order_by("id"))
    # Re-check under the lock: a concurrent call with this key may have committed while we waited.
    existing = Refund.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _replay(existing, order=order, amount=amount, method=method, return_request=return_request)

    refundable = [p for p in payments if p.status in REFUNDABLE_PAYMENT_STATUSES]
    if not refundable:
        raise ApplicationError(f"Order {order.number} has no captured payment to refund.", code="no_captured_payment")
    remaining = sum((p.amount - p.refunded_amount for p in refundable), Decimal("0.00"))
    if amount > remaining:
        raise ApplicationError(
            f"{amount} {order.currency} is more than the {remaining} {order.currency} still refundable "
            f"on order {order.number}.",
            code="amount_exceeds_paid",
            extra={"refundable": str(remaining), "requested": str(amount)},
        )
    payment = next((p for p in refundable if p.amount - p.refunded_amount >= amount), None)
    if payment is None:
        raise ApplicationError(
            "The amount spans more than one payment; refund each payment separately.", code="amount_spans_payments"
        )
    if return_request is not None:
        return_request = lock_row(return_request)
        if return_request.is_exchange:
            raise ApplicationError("An exchange is not refunded.", code="return_is_exchange")
        ensure_transition(
            "return",
            return_request.status,
            ReturnStatus.REFUNDED,
            message=(
                f"Return {return_request.pk} is {return_request.get_status_display().lower()}; "
                "only a received return is refunded."
            ),
        )

    now = timezone.now()
    refund = Refund(
        order=order,
        payment=payment,
        return_request=return_request,
        amount=amount,
        currency=payment.currency,
        method=method,
        status=RefundStatus.SUCCEEDED,
        reason=reason,
        idempotency_key=idempotency_key,
        processor_reference=_processor_refund(payment=payment, amount=amount, idempotency_key=idempotency_key),
        processed_at=now,
    )
    refund.full_clean(validate_unique=False)  # uniqueness is the database's job (see the IntegrityError path)
    with transaction.atomic():
        refund.save()
    audit(
        subject=refund,
        order=order,
        action="refund.execute",
        from_state="",
        to_state=refund.status,
        actor_label=actor_label,
        actor=actor,
        data={
            "amount": str(amount),
            "currency": refund.currency,
            "method": method,
            "reason": reason,
            "idempotency_key": idempotency_key,
            "payment_id": payment.pk,
            "return_id": return_request.pk if return_request else None,
        },
    )

    before = payment.status
    payment.refunded_amount += amount
    target = PaymentStatus.REFUNDED if payment.refunded_amount >= payment.amount else PaymentStatus.PARTIALLY_REFUNDED
    ensure_transition("payment", before, target)
    payment.status = target
    payment.save(update_fields=["refunded_amount", "status", "updated_at"])
    audit(
        subject=payment,
        order=order,
        action="payment.refund",
        from_state=before,
        to_state=target,
        actor_label=actor_label,
        actor=actor,
        data={"amount": str(amount), "refunded_amount": str(payment.refunded_amount), "refund_id": refund.pk},
    )

    if all(p.status == PaymentStatus.REFUNDED for p in refundable):
        invoice = Invoice.objects.select_for_update().filter(order=order, status=InvoiceStatus.PAID).first()
        if invoice is not None:
            invoice.status = InvoiceStatus.CREDITED
            invoice.save(update_fields=["status", "updated_at"])
            audit(
                subject=invoice,
                order=order,
                action="invoice.credit",
                from_state=InvoiceStatus.PAID,
                to_state=InvoiceStatus.CREDITED,
                actor_label=actor_label,
                actor=actor,
                data={"refund_id": refund.pk},
            )

    if return_request is not None:
        change_state(
            return_request,
            ReturnStatus.REFUNDED,
            order=order,
            action="return.refund",
            actor_label=actor_label,
            actor=actor,
            data={"refund_id": refund.pk},
        )
        _close_return_on_order(order=order, actor_label=actor_label, actor=actor, refund=refund)
    return refund


def _close_return_on_order(*, order: Order, actor_label: str, actor: User | None, refund: Refund) -> None:
    if order.status != OrderStatus.RETURN_REQUESTED:
        return
    if order.return_requests.filter(status__in=list(OPEN_RETURN_STATUSES), is_exchange=False).exists():
        return  # another return on this order is still open
    bought = order.items.aggregate(q=Sum("quantity"))["q"] or 0
    returned = (
        ReturnItem.objects.filter(return_request__order=order, return_request__status=ReturnStatus.REFUNDED).aggregate(
            q=Sum("quantity")
        )["q"]
        or 0
    )
    target = OrderStatus.RETURNED if returned >= bought else OrderStatus.PARTIALLY_RETURNED
    ensure_transition("order", order.status, target)
    change_state(
        order,
        target,
        action="order.complete_return",
        actor_label=actor_label,
        actor=actor,
        data={"refund_id": refund.pk, "returned_quantity": returned, "bought_quantity": bought},
    )
