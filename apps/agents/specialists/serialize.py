"""Shop rows as the plain data the tools hand to the model (and the local model reads back).

Only what the customer may see: no internal ids except order item ids (which
the returns tools need to name a line), no processor references, no full card data.
"""

from __future__ import annotations

from typing import Any

from apps.commerce.models import (
    Invoice,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    ReturnRequest,
    Shipment,
)
from apps.commerce.selectors import payment_failure_reason

NOT_SHIPPED = frozenset({OrderStatus.PENDING, OrderStatus.PROCESSING})


def item_label(item: OrderItem) -> str:
    return f"{item.product_name} ({item.variant_name})" if item.variant_name else item.product_name


def order_summary(order: Order) -> dict[str, Any]:
    """An order as a list shows it. Besides its items, what customers name an order by instead of its number (the
    reference resolver reads them back, `understanding.order_facts.facts_from_data`): each item's category ("my
    kitchen stuff"), when it shipped and arrived ("the one delivered 3 days ago"), the shipping method ("the express
    one"), how it was paid ("the one on my amex", "the order where my payment failed") and its parcel's state ("the
    package the courier couldn't deliver")."""
    items = list(order.items.all())
    shipments = list(order.shipments.all())
    shipped = [s.shipped_at for s in shipments if s.shipped_at]
    payments = list(order.payments.all())
    payment = payments[-1] if payments else None
    return {
        "number": order.number,
        "status": order.status,
        "status_label": order.get_status_display(),
        "placed_on": order.placed_at.date().isoformat(),
        "shipped_on": min(shipped).date().isoformat() if shipped else None,
        "delivered_on": order.delivered_at.date().isoformat() if order.delivered_at else None,
        "total": str(order.total),
        "currency": order.currency,
        "items": [f"{i.quantity} x {item_label(i)}" for i in items],
        "categories": [i.variant.product.category for i in items],
        "shipping_method": order.get_shipping_method_display(),
        "paid_with": payment.method.masked if payment is not None and payment.method else "",
        "payment_status": payment.status if payment is not None else "",
        # "the courier says the address on my package is incomplete": the parcel the carrier has a problem with
        "shipment_status": shipments[-1].status if shipments else "",
    }


def order_item(item: OrderItem) -> dict[str, Any]:
    return {
        "order_item_id": item.pk,
        "name": item_label(item),
        "product_name": item.product_name,
        "sku": item.sku,
        "quantity": item.quantity,
        "unit_price": str(item.unit_price),
        "line_total": str(item.line_total),
        "final_sale": item.final_sale,
    }


def shipment(s: Shipment) -> dict[str, Any]:
    events = list(s.events.all())
    last = events[-1] if events else None
    return {
        "carrier": s.carrier,
        "tracking_number": s.tracking_number,
        "status": s.status,
        "status_label": s.get_status_display(),
        "shipped_on": s.shipped_at.date().isoformat() if s.shipped_at else None,
        "estimated_delivery": s.estimated_delivery.isoformat() if s.estimated_delivery else None,
        "delivered_on": s.delivered_at.date().isoformat() if s.delivered_at else None,
        "last_event": (
            {
                "when": last.occurred_at.isoformat(),
                "status": last.status,
                "location": last.location,
                "description": last.description,
            }
            if last
            else None
        ),
    }


def order_detail(order: Order) -> dict[str, Any]:
    data = order_summary(order)
    data.update(
        {
            "items": [order_item(i) for i in order.items.all()],
            "subtotal": str(order.subtotal),
            "shipping_fee": str(order.shipping_fee),
            "tax": str(order.tax),
            "shipping_method": order.get_shipping_method_display(),
            "ship_to": f"{order.ship_name}, {order.shipping_address}",
            "delivered_on": order.delivered_at.date().isoformat() if order.delivered_at else None,
            "cancelled_on": order.cancelled_at.date().isoformat() if order.cancelled_at else None,
            "can_cancel": order.status == OrderStatus.PENDING,
            "can_change_address": order.status in NOT_SHIPPED,
            "shipments": [shipment(s) for s in order.shipments.all()],
            # "why is my order still pending": its payment failed, and what to do about it
            "payment_problem": _payment_problem(order),
        }
    )
    return data


def _payment_problem(order: Order) -> dict[str, Any] | None:
    payments = list(order.payments.all())
    if not payments or payments[-1].status != PaymentStatus.FAILED:
        return None
    explanation, steps = payment_failure_reason(payments[-1])
    return {"explanation": explanation, "next_steps": list(steps)}


def invoice(inv: Invoice) -> dict[str, Any]:
    order = inv.order
    return {
        "number": inv.number,
        "order_number": order.number,
        # The order an invoice bills, as the customer names it: "the invoice for my lamp order".
        "order_status": order.status,
        "order_status_label": order.get_status_display(),
        "placed_on": order.placed_at.date().isoformat(),
        # The category too ("the running shoes" are the Trail Runners): what the resolver reads an item by.
        "items": [
            {"quantity": i.quantity, "name": item_label(i), "category": i.variant.product.category}
            for i in order.items.all()
        ],
        "shipping_method": order.get_shipping_method_display(),
        "status": inv.status,
        "status_label": inv.get_status_display(),
        "issued_on": inv.issued_at.date().isoformat(),
        "subtotal": str(inv.subtotal),
        "shipping_fee": str(inv.shipping_fee),
        "tax": str(inv.tax),
        "total": str(inv.total),
        "currency": inv.currency,
        "billing_name": inv.billing_name,
    }


def payment(p: Payment) -> dict[str, Any]:
    return {
        "order_number": p.order.number,
        "amount": str(p.amount),
        "currency": p.currency,
        "status": p.status,
        "status_label": p.get_status_display(),
        "refunded_amount": str(p.refunded_amount),
        "method": p.method.masked if p.method else "",
        "date": p.created_at.date().isoformat(),
        "failure_code": p.failure_code,
    }


def refund(r: Refund) -> dict[str, Any]:
    return {
        "order_number": r.order.number,
        "amount": str(r.amount),
        "currency": r.currency,
        "status": r.status,
        "status_label": r.get_status_display(),
        "method": r.get_method_display(),
        # the card or account the money went back to ("Mastercard •••• 5454"): the customer asks which one
        "paid_to": r.payment.method.masked if r.payment.method is not None else "",
        "requested_on": r.created_at.date().isoformat(),
        "processed_on": r.processed_at.date().isoformat() if r.processed_at else None,
        # why money came back without a return ("Goodwill credit: delivered three days late"); a return says it itself
        "reason": r.reason if r.return_request_id is None else "",
    }


def return_request(rr: ReturnRequest) -> dict[str, Any]:
    return {
        "order_number": rr.order.number,
        "status": rr.status,
        "status_label": rr.get_status_display(),
        "reason": rr.reason,
        "label_reference": rr.label_reference,
        "opened_on": rr.created_at.date().isoformat(),
        "items": [f"{ri.quantity} x {item_label(ri.order_item)}" for ri in rr.items.all()],
    }
