"""The customer's own orders and items as the reference resolver reads them (`OrderFacts`, `ItemFacts`).

Built from the commerce selectors (`order_facts_for_customer`) or read back from
a tool's result (`facts_from_data`): the local model knows the customer's orders
only from its own tool calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class ItemFacts:
    product: str  # "Tidewater Rain Jacket"
    variant: str  # "M / Yellow"
    category: str  # "apparel"
    quantity: int = 1
    unit_price: Decimal = Decimal("0")
    sku: str = ""
    final_sale: bool = False

    @property
    def label(self) -> str:
        return f"{self.product} ({self.variant})" if self.variant else self.product


@dataclass(frozen=True)
class OrderFacts:
    number: str
    status: str
    placed_at: datetime
    items: tuple[ItemFacts, ...]
    total: Decimal = Decimal("0")
    delivered_at: datetime | None = None
    shipped_at: datetime | None = None
    shipping_method: str = ""  # "Express (1-2 business days)"
    paid_with: str = ""  # the latest payment's method, masked: "Amex •••• 0005", "PayPal"
    payment_status: str = ""  # the latest payment's status: "authorized", "failed", "refunded"...
    shipment_status: str = ""  # the latest parcel's status: "in_transit", "exception"...


def order_facts_for_customer(*, customer: Any, limit: int = 20) -> list[OrderFacts]:
    """The customer's own recent orders as `OrderFacts` (through the commerce selectors; none for no customer)."""
    from apps.commerce.selectors import order_list_for_customer

    return _facts(order_list_for_customer(customer=customer, limit=limit))


def order_facts_for_session(*, customer: Any, verified_order: Any, limit: int = 20) -> list[OrderFacts]:
    """The orders a session may see: a verified guest's one order (through the scoped selector), else the
    signed-in customer's (none for an anonymous visitor)."""
    from apps.commerce.selectors import order_get_for_customer
    from apps.core.errors import NotFound

    if verified_order is None:
        return order_facts_for_customer(customer=customer, limit=limit)
    try:
        order = order_get_for_customer(customer=customer, number=verified_order.number, only_order=verified_order)
    except NotFound:
        return []
    return _facts([order])


def _facts(orders: list[Any]) -> list[OrderFacts]:
    from django.db.models import prefetch_related_objects

    prefetch_related_objects(orders, "items__variant__product", "shipments", "payments__method")
    return [
        OrderFacts(
            number=o.number,
            status=o.status,
            placed_at=o.placed_at,
            delivered_at=o.delivered_at,
            shipped_at=min((s.shipped_at for s in o.shipments.all() if s.shipped_at), default=None),
            total=o.total,
            shipping_method=o.get_shipping_method_display(),
            paid_with=next((p.method.masked for p in reversed(o.payments.all()) if p.method), ""),
            payment_status=next((p.status for p in reversed(o.payments.all())), ""),
            shipment_status=next((s.status for s in reversed(o.shipments.all())), ""),
            items=tuple(
                ItemFacts(
                    product=i.product_name,
                    variant=i.variant_name,
                    category=i.variant.product.category,
                    quantity=i.quantity,
                    unit_price=i.unit_price,
                    sku=i.sku,
                    final_sale=i.final_sale,
                )
                for i in o.items.all()
            ),
        )
        for o in orders
    ]


_ITEM_LINE_RE = re.compile(r"^\s*(?:(\d+)\s*x\s+)?(.+?)(?:\s+\(([^()]*)\))?\s*$")


def _day(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    from datetime import UTC, date

    parsed = date.fromisoformat(str(value)[:10])
    return datetime(parsed.year, parsed.month, parsed.day, 12, tzinfo=UTC)


def _item_from_data(raw: Any) -> ItemFacts:
    if isinstance(raw, str):  # "2 x Harbor Hoodie (M / Navy)"
        m = _ITEM_LINE_RE.match(raw)
        quantity, product, variant = (m.group(1), m.group(2), m.group(3)) if m else (None, raw, None)
        return ItemFacts(product=product, variant=variant or "", category="", quantity=int(quantity or 1))
    name = str(raw.get("product_name") or raw.get("name") or "")
    variant = str(raw.get("variant_name") or "")
    if not variant and not raw.get("product_name"):
        m = _ITEM_LINE_RE.match(name)
        if m and m.group(3):
            name, variant = m.group(2), m.group(3)
    return ItemFacts(
        product=name,
        variant=variant,
        category=str(raw.get("category") or ""),
        quantity=int(raw.get("quantity") or 1),
        unit_price=Decimal(str(raw.get("unit_price") or "0")),
        sku=str(raw.get("sku") or ""),
        final_sale=bool(raw.get("final_sale", False)),
    )


def _items_from_data(raw: Iterable[Any], categories: Sequence[Any]) -> tuple[ItemFacts, ...]:
    """The items of a tool's order; a summary's `categories` list each item's category, in the items' order."""
    items = [_item_from_data(i) for i in raw]
    if len(categories) == len(items):
        items = [i if i.category else replace(i, category=str(c or "")) for i, c in zip(items, categories, strict=True)]
    return tuple(items)


def facts_from_data(orders: Iterable[Mapping[str, Any]]) -> list[OrderFacts]:
    """`OrderFacts` from the orders a tool returned (`number`, `status`, `placed_on`, `items`, `total`, ...).

    The local model knows the customer's orders only from its own tool calls; this reads them back. Items may be
    the summary's strings ("2 x Harbor Hoodie (M / Navy)") or the detail's objects.
    """
    facts = []
    for order in orders:
        placed = _day(order.get("placed_at") or order.get("placed_on"))
        if not order.get("number") or placed is None:
            continue
        facts.append(
            OrderFacts(
                number=str(order["number"]),
                status=str(order.get("status") or ""),
                placed_at=placed,
                items=_items_from_data(order.get("items") or (), order.get("categories") or ()),
                total=Decimal(str(order.get("total") or "0")),
                delivered_at=_day(order.get("delivered_at") or order.get("delivered_on")),
                shipped_at=_day(order.get("shipped_at") or order.get("shipped_on")),
                shipping_method=str(order.get("shipping_method") or ""),
                paid_with=str(order.get("paid_with") or ""),
                payment_status=str(order.get("payment_status") or ""),
                shipment_status=str(order.get("shipment_status") or ""),
            )
        )
    return facts
