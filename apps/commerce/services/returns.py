"""Returns and exchanges: creating a return, receiving it, cancelling it (the policy: `return_policy`)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import User
from apps.commerce.models import (
    Order,
    OrderStatus,
    ProductVariant,
    ReturnItem,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from apps.core.errors import ApplicationError

from ._common import audit, change_state, check_actor, ensure_transition, lock_order, lock_row
from .return_policy import (
    ReturnLine,
    return_check_eligibility,
)


def _label_reference() -> str:
    return f"RMA-{secrets.token_hex(5).upper()}"


@transaction.atomic
def return_create(
    *,
    order: Order,
    items: Sequence[ReturnLine] | None,
    reason: str,
    actor_label: str,
    actor: User | None = None,
    note: str = "",
    is_exchange: bool = False,
) -> ReturnRequest:
    """Open a return (or exchange) and issue its prepaid label; the order moves to return/exchange requested."""
    check_actor(actor_label, actor)
    if reason not in ReturnReason.values:
        raise ApplicationError(f"'{reason}' is not a return reason.", code="invalid_reason")
    order = lock_order(order)
    verdict = return_check_eligibility(order=order, items=items, reason=reason, is_exchange=is_exchange)
    if not verdict.eligible:
        first = (verdict.reasons or next(v.reasons for v in verdict.items if not v.eligible))[0]
        raise ApplicationError(first.message, code="return_not_eligible", extra={"reasons": verdict.reason_codes})
    target = OrderStatus.EXCHANGE_REQUESTED if is_exchange else OrderStatus.RETURN_REQUESTED
    ensure_transition("order", order.status, target)
    return_request = ReturnRequest(
        order=order,
        customer_id=order.customer_id,
        status=ReturnStatus.LABEL_ISSUED,
        reason=reason,
        note=note[:2000],
        is_exchange=is_exchange,
        label_reference=_label_reference(),
        return_shipping_fee=verdict.return_shipping_fee,
    )
    return_request.full_clean()
    return_request.save()
    ReturnItem.objects.bulk_create(
        [
            ReturnItem(
                return_request=return_request,
                order_item_id=v.order_item_id,
                quantity=v.requested_quantity,
                exchange_variant_id=v.exchange_variant_id,
            )
            for v in verdict.items
        ]
    )
    reserved: dict[str, int] = {}
    for v in verdict.items:
        if v.exchange_variant_id is not None:
            # Reserve the replacement while the parcel travels back; the guard keeps stock from going negative.
            updated = ProductVariant.objects.filter(pk=v.exchange_variant_id, stock__gte=v.requested_quantity).update(
                stock=F("stock") - v.requested_quantity
            )
            if not updated:
                raise ApplicationError(
                    f"The replacement for {v.product_name} just sold out.", code="exchange_variant_out_of_stock"
                )
            reserved[str(v.exchange_variant_id)] = v.requested_quantity
    audit(
        subject=return_request,
        order=order,
        action="return.create",
        from_state="",
        to_state=return_request.status,
        actor_label=actor_label,
        actor=actor,
        data={
            "is_exchange": is_exchange,
            "reason": reason,
            "label_reference": return_request.label_reference,
            "items": [
                {
                    "order_item_id": v.order_item_id,
                    "quantity": v.requested_quantity,
                    "exchange_variant_id": v.exchange_variant_id,
                }
                for v in verdict.items
            ],
            "reserved_variants": reserved,
            "refundable_amount": str(verdict.refundable_amount),
            "return_shipping_fee": str(verdict.return_shipping_fee),
        },
    )
    change_state(
        order,
        target,
        action="order.request_exchange" if is_exchange else "order.request_return",
        actor_label=actor_label,
        actor=actor,
        data={"return_id": return_request.pk},
    )
    return return_request


@transaction.atomic
def return_mark_received(
    *, return_request: ReturnRequest, actor_label: str, actor: User | None = None, received_at: datetime | None = None
) -> ReturnRequest:
    """The warehouse has the parcel: restock it. An exchange completes here; a return awaits its refund."""
    check_actor(actor_label, actor)
    order = lock_order(return_request.order)
    return_request = lock_row(return_request)
    ensure_transition(
        "return",
        return_request.status,
        ReturnStatus.RECEIVED,
        message=f"Return {return_request.pk} is {return_request.get_status_display().lower()} and cannot be received.",
    )
    if return_request.is_exchange:
        ensure_transition("order", order.status, OrderStatus.EXCHANGED)
    before = return_request.status
    return_request.status = ReturnStatus.RECEIVED
    return_request.received_at = received_at or timezone.now()
    return_request.save(update_fields=["status", "received_at", "updated_at"])
    restocked: dict[str, int] = {}
    for ri in return_request.items.select_related("order_item"):
        ProductVariant.objects.filter(pk=ri.order_item.variant_id).update(stock=F("stock") + ri.quantity)
        restocked[ri.order_item.sku] = restocked.get(ri.order_item.sku, 0) + ri.quantity
    audit(
        subject=return_request,
        order=order,
        action="return.mark_received",
        from_state=before,
        to_state=return_request.status,
        actor_label=actor_label,
        actor=actor,
        data={"restocked": restocked},
    )
    if return_request.is_exchange:
        change_state(
            order,
            OrderStatus.EXCHANGED,
            action="order.complete_exchange",
            actor_label=actor_label,
            actor=actor,
            data={"return_id": return_request.pk},
        )
    return return_request


def _status_before_return(order: Order, *, excluding: ReturnRequest) -> str:
    others = order.return_requests.exclude(pk=excluding.pk)
    if others.filter(status=ReturnStatus.REFUNDED, is_exchange=False).exists():
        return OrderStatus.PARTIALLY_RETURNED
    if others.filter(status=ReturnStatus.RECEIVED, is_exchange=True).exists():
        return OrderStatus.EXCHANGED
    return OrderStatus.DELIVERED


@transaction.atomic
def return_cancel(
    *, return_request: ReturnRequest, actor_label: str, actor: User | None = None, reject: bool = False, note: str = ""
) -> ReturnRequest:
    """Withdraw a return (the customer changed their mind) or, with `reject=True`, refuse it (staff).

    Only before the parcel is received. The order goes back to where it was and
    an exchange's reserved replacement goes back to stock.
    """
    check_actor(actor_label, actor)
    if reject and not actor_label.startswith("staff:"):
        raise ApplicationError("Only staff can reject a return.", code="forbidden")
    order = lock_order(return_request.order)
    return_request = lock_row(return_request)
    target = ReturnStatus.REJECTED if reject else ReturnStatus.CANCELLED
    ensure_transition(
        "return",
        return_request.status,
        target,
        message=(
            f"Return {return_request.label_reference or return_request.pk} is "
            f"{return_request.get_status_display().lower()} and can no longer be "
            f"{'rejected' if reject else 'cancelled'}."
        ),
    )
    order_target = _status_before_return(order, excluding=return_request)
    ensure_transition("order", order.status, order_target)
    before = return_request.status
    return_request.status = target
    if note:
        return_request.note = (return_request.note + "\n" + note).strip()[:2000]
    return_request.save(update_fields=["status", "note", "updated_at"])
    released: dict[str, int] = {}
    for ri in return_request.items.exclude(exchange_variant=None):
        ProductVariant.objects.filter(pk=ri.exchange_variant_id).update(stock=F("stock") + ri.quantity)
        released[str(ri.exchange_variant_id)] = ri.quantity
    audit(
        subject=return_request,
        order=order,
        action="return.reject" if reject else "return.cancel",
        from_state=before,
        to_state=target,
        actor_label=actor_label,
        actor=actor,
        data={"note": note[:500], "released_variants": released},
    )
    change_state(
        order,
        order_target,
        action="order.withdraw_return",
        actor_label=actor_label,
        actor=actor,
        data={"return_id": return_request.pk},
    )
    return return_request
