"""What every commerce service shares: actor labels, transition tables, audit rows, row locks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from django.db import models

from apps.accounts.models import User
from apps.commerce.models import (
    AuditEvent,
    InvoiceStatus,
    Order,
    OrderStatus,
    PaymentStatus,
    ReturnStatus,
    ShipmentStatus,
)
from apps.core.errors import ApplicationError

# Who acted. Agents never act as a person: "agent" (optionally "agent:<name>").
ACTOR_LABEL_RE = re.compile(r"^(customer:\d+|staff:[\w.@+-]{1,100}|agent(:[\w.-]{1,60})?|system(:[\w.-]{1,60})?)$")

# from-state -> the states a service may move it to. Anything else is refused.
ORDER_TRANSITIONS: Mapping[str, frozenset[str]] = {
    OrderStatus.PENDING: frozenset({OrderStatus.PROCESSING, OrderStatus.CANCELLED}),
    OrderStatus.PROCESSING: frozenset({OrderStatus.SHIPPED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.RETURN_REQUESTED, OrderStatus.EXCHANGE_REQUESTED}),
    # A cancelled or rejected return puts the order back where it was before the return.
    OrderStatus.RETURN_REQUESTED: frozenset(
        {
            OrderStatus.PARTIALLY_RETURNED,
            OrderStatus.RETURNED,
            OrderStatus.DELIVERED,
            OrderStatus.EXCHANGED,
        }
    ),
    OrderStatus.PARTIALLY_RETURNED: frozenset({OrderStatus.RETURN_REQUESTED, OrderStatus.EXCHANGE_REQUESTED}),
    OrderStatus.EXCHANGE_REQUESTED: frozenset(
        {OrderStatus.EXCHANGED, OrderStatus.DELIVERED, OrderStatus.PARTIALLY_RETURNED}
    ),
    OrderStatus.EXCHANGED: frozenset({OrderStatus.RETURN_REQUESTED, OrderStatus.EXCHANGE_REQUESTED}),
    OrderStatus.RETURNED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}

PAYMENT_TRANSITIONS: Mapping[str, frozenset[str]] = {
    PaymentStatus.PENDING: frozenset({PaymentStatus.AUTHORIZED, PaymentStatus.FAILED, PaymentStatus.VOIDED}),
    PaymentStatus.AUTHORIZED: frozenset({PaymentStatus.CAPTURED, PaymentStatus.VOIDED}),
    PaymentStatus.CAPTURED: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}),
    PaymentStatus.PARTIALLY_REFUNDED: frozenset({PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED}),
    PaymentStatus.FAILED: frozenset(),
    PaymentStatus.REFUNDED: frozenset(),
    PaymentStatus.VOIDED: frozenset(),
}

INVOICE_TRANSITIONS: Mapping[str, frozenset[str]] = {
    InvoiceStatus.ISSUED: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset({InvoiceStatus.CREDITED}),
    InvoiceStatus.VOID: frozenset(),
    InvoiceStatus.CREDITED: frozenset(),
}

RETURN_TRANSITIONS: Mapping[str, frozenset[str]] = {
    ReturnStatus.REQUESTED: frozenset({ReturnStatus.LABEL_ISSUED, ReturnStatus.REJECTED, ReturnStatus.CANCELLED}),
    ReturnStatus.LABEL_ISSUED: frozenset({ReturnStatus.RECEIVED, ReturnStatus.REJECTED, ReturnStatus.CANCELLED}),
    ReturnStatus.RECEIVED: frozenset({ReturnStatus.REFUNDED}),
    ReturnStatus.REFUNDED: frozenset(),
    ReturnStatus.REJECTED: frozenset(),
    ReturnStatus.CANCELLED: frozenset(),
}

SHIPMENT_TRANSITIONS: Mapping[str, frozenset[str]] = {
    ShipmentStatus.LABEL_CREATED: frozenset({ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED}),
    ShipmentStatus.IN_TRANSIT: frozenset(
        {ShipmentStatus.OUT_FOR_DELIVERY, ShipmentStatus.DELIVERED, ShipmentStatus.EXCEPTION}
    ),
    ShipmentStatus.OUT_FOR_DELIVERY: frozenset({ShipmentStatus.DELIVERED, ShipmentStatus.EXCEPTION}),
    ShipmentStatus.EXCEPTION: frozenset({ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED}),
    ShipmentStatus.DELIVERED: frozenset(),
}

TRANSITIONS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "order": ORDER_TRANSITIONS,
    "payment": PAYMENT_TRANSITIONS,
    "invoice": INVOICE_TRANSITIONS,
    "return": RETURN_TRANSITIONS,
    "shipment": SHIPMENT_TRANSITIONS,
}


def can_transition(entity: str, current: str, target: str) -> bool:
    return target in TRANSITIONS[entity].get(current, frozenset())


def ensure_transition(entity: str, current: str, target: str, *, message: str = "") -> None:
    """Refuse a move the table does not allow, with a stable code and both states."""
    if not can_transition(entity, current, target):
        raise ApplicationError(
            message or f"A {entity} in state '{current}' cannot move to '{target}'.",
            code="invalid_transition",
            extra={"entity": entity, "from": str(current), "to": str(target)},
        )


def check_actor(actor_label: str, actor: User | None = None) -> None:
    if not ACTOR_LABEL_RE.match(actor_label or ""):
        raise ApplicationError(
            "actor_label must be customer:<id>, staff:<username>, agent or system.", code="invalid_actor"
        )
    if actor is not None and actor_label.startswith("staff:") and actor_label != f"staff:{actor.get_username()}":
        raise ApplicationError("actor_label does not name the acting user.", code="invalid_actor")


def audit(
    *,
    subject: models.Model,
    action: str,
    actor_label: str,
    actor: User | None = None,
    order: Order | None = None,
    from_state: str = "",
    to_state: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    subject_type = {"returnrequest": "return"}.get(subject._meta.model_name, subject._meta.model_name)
    return AuditEvent.objects.create(
        subject_type=subject_type,
        subject_id=subject.pk,
        order=order if order is not None else (subject if isinstance(subject, Order) else None),
        action=action,
        from_state=str(from_state),
        to_state=str(to_state),
        actor=actor,
        actor_label=actor_label,
        data=data or {},
    )


def change_state(
    subject: models.Model,
    to: str,
    *,
    action: str,
    actor_label: str,
    actor: User | None = None,
    order: Order | None = None,
    data: dict[str, Any] | None = None,
    also: tuple[str, ...] = (),
) -> AuditEvent:
    """Move `subject.status` to `to`, save it (with the fields in `also`) and audit the move.

    The caller has validated the transition (`ensure_transition`, with its own message).
    """
    before = subject.status
    subject.status = to
    subject.save(update_fields=["status", *also, "updated_at"])
    return audit(
        subject=subject,
        action=action,
        actor_label=actor_label,
        actor=actor,
        order=order,
        from_state=before,
        to_state=to,
        data=data,
    )


M = TypeVar("M", bound=models.Model)


def lock_row(obj: M) -> M:
    """Lock the row, then reload the caller's own instance from it.

    Reloading in place (rather than returning a copy) keeps the object the
    caller holds in step with what the service wrote.
    """
    type(obj)._default_manager.select_for_update().filter(pk=obj.pk).values_list("pk", flat=True).get()
    obj.refresh_from_db()
    return obj


def lock_order(order: Order) -> Order:
    """Every write on an order, its payments, shipments and returns serialises on the order's row."""
    return lock_row(order)
