"""The order specialist's tools: look up, track, cancel (write), change the address (write)."""

from __future__ import annotations

from typing import Any

from pydantic_ai import RunContext

from apps.agents.deps import SupportDeps
from apps.agents.specialists import serialize
from apps.agents.specialists.results import day, money
from apps.agents.specialists.scope import actor_label, order_in_scope, orders_in_scope
from apps.agents.tools import read_tool, write_tool
from apps.commerce import services
from apps.commerce.models import OrderStatus, PaymentStatus
from apps.core.errors import ApplicationError

MAX_ORDERS = 10


@read_tool
def list_orders(ctx: RunContext[SupportDeps], limit: int = 5) -> dict[str, Any]:
    """List the customer's most recent orders (newest first): number, status, date, total, items."""
    orders = orders_in_scope(ctx.deps, limit=max(1, min(limit, MAX_ORDERS)))
    return {"orders": [serialize.order_summary(o) for o in orders]}


@read_tool
def get_order(ctx: RunContext[SupportDeps], order_number: str) -> dict[str, Any]:
    """Details of one of the customer's orders: items, amounts, shipping address, status, shipments."""
    order = order_in_scope(ctx.deps, order_number)
    return serialize.order_detail(order)


@read_tool
def track_shipment(ctx: RunContext[SupportDeps], order_number: str) -> dict[str, Any]:
    """Where an order is: carrier, tracking number, status, latest scan and expected delivery date."""
    order = order_in_scope(ctx.deps, order_number)
    shipments = [serialize.shipment(s) for s in order.shipments.all()]
    expected = max((s["estimated_delivery"] for s in shipments if s["estimated_delivery"]), default=None)
    return {
        "number": order.number,
        "status": order.status,
        "status_label": order.get_status_display(),
        "shipping_method": order.get_shipping_method_display(),
        "delivered_on": order.delivered_at.date().isoformat() if order.delivered_at else None,
        "expected_delivery": expected,
        "shipments": shipments,
    }


# -- cancel (write) -------------------------------------------------------------------------------
def _cancel_precheck(ctx: Any, order_number: str, reason: str = "") -> None:
    order = order_in_scope(ctx.deps, order_number)
    if order.status != OrderStatus.PENDING:
        raise ApplicationError(
            f"Order {order.number} is {order.get_status_display().lower()}; only pending orders can be cancelled.",
            code="not_cancellable",
            extra={"status": order.status},
        )
    if order.payments.filter(status__in=[PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED]).exists():
        raise ApplicationError(
            f"Order {order.number} has already been charged, so it cannot be cancelled here.", code="payment_captured"
        )


def _cancel_summary(args: dict[str, Any], deps: SupportDeps) -> str:
    order = order_in_scope(deps, args["order_number"])
    count = sum(i.quantity for i in order.items.all())
    return (
        f"cancel order {order.number} (placed {day(order.placed_at)}, {count} item{'s' if count != 1 else ''}, "
        f"total {money(order.total, order.currency)})"
    )


def _cancel_done(result: Any, args: dict[str, Any]) -> str:
    return (
        f"Done: order {result['number']} is cancelled. Any authorization on your payment method is released; "
        "you have not been charged for it."
    )


@write_tool(summary=_cancel_summary, precheck=_cancel_precheck, done_message=_cancel_done, confirm_verbs=("cancel",))
def cancel_order(ctx: RunContext[SupportDeps], order_number: str, reason: str = "") -> dict[str, Any]:
    """Cancel a pending (not yet processed) order. Needs the customer's confirmation; nothing happens until then."""
    order = order_in_scope(ctx.deps, order_number)
    order = services.order_cancel(
        order=order, actor_label=actor_label(ctx.deps, order), reason=reason or "cancelled by the customer in chat"
    )
    return {"number": order.number, "status": order.status}


# -- change the shipping address (write) ----------------------------------------------------------
def _address(args: dict[str, Any]) -> services.ShippingAddress:
    return services.ShippingAddress(
        full_name=args.get("full_name", ""),
        line1=args.get("line1", ""),
        line2=args.get("line2", ""),
        city=args.get("city", ""),
        region=args.get("region", ""),
        postal_code=args.get("postal_code", ""),
        country=args.get("country", ""),
    )


def _address_text(address: services.ShippingAddress) -> str:
    parts = (address.full_name, address.line1, address.line2, address.city, address.region, address.postal_code)
    return ", ".join(p for p in parts if p) + f", {address.country.upper()}"


def _address_precheck(ctx: Any, order_number: str, **address: str) -> None:
    order = order_in_scope(ctx.deps, order_number)
    if order.status not in serialize.NOT_SHIPPED:
        raise ApplicationError(
            f"Order {order.number} is {order.get_status_display().lower()}; "
            "the address can only change before it ships.",
            code="already_shipped",
            extra={"status": order.status},
        )
    missing = [name for name in ("line1", "city", "postal_code", "country") if not (address.get(name) or "").strip()]
    if missing:
        raise ApplicationError(
            f"The new address is missing: {', '.join(missing)}.", code="invalid_address", extra={"missing": missing}
        )
    country = (address.get("country") or "").strip()
    if len(country) != 2 or not country.isalpha():
        raise ApplicationError("Country must be a two-letter code such as US or GB.", code="invalid_address")


def _address_summary(args: dict[str, Any], deps: SupportDeps) -> str:
    order = order_in_scope(deps, args["order_number"])
    args = {**args, "full_name": args.get("full_name") or order.ship_name}
    return f"change the shipping address of order {order.number} to {_address_text(_address(args))}"


def _address_done(result: Any, args: dict[str, Any]) -> str:
    return f"Done: order {result['number']} will now ship to {result['ship_to']}."


@write_tool(
    summary=_address_summary, precheck=_address_precheck, done_message=_address_done, confirm_verbs=("change", "update")
)
def change_shipping_address(
    ctx: RunContext[SupportDeps],
    order_number: str,
    line1: str,
    city: str,
    postal_code: str,
    country: str,
    full_name: str = "",
    line2: str = "",
    region: str = "",
) -> dict[str, Any]:
    """Change where an order not yet shipped (pending or processing) goes. Country is a two-letter code.
    Leave full_name empty to keep the recipient's name. Needs the customer's confirmation."""
    order = order_in_scope(ctx.deps, order_number)
    args = {
        "full_name": full_name or order.ship_name,
        "line1": line1,
        "line2": line2,
        "city": city,
        "region": region,
        "postal_code": postal_code,
        "country": country,
    }
    order = services.order_change_shipping_address(
        order=order, address=_address(args), actor_label=actor_label(ctx.deps, order)
    )
    return {"number": order.number, "ship_to": f"{order.ship_name}, {order.shipping_address}"}


TOOLS = [list_orders, get_order, track_shipment, cancel_order, change_shipping_address]
