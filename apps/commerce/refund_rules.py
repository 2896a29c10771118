"""The shop's rules for refund amounts and item lines, as every caller applies them.

The return policy (`apps.commerce.services.return_policy`), the support desk's
approval service (`apps.support.services.approvals`) and the agent's returns
tools price a refund and read an amount and a list of item lines the same way:

- `line_amount`: what `quantity` units of an order line refund (price plus their
  share of the order's tax);
- `return_shipping_fee`: what the customer pays for sending items back: nothing
  for an exchange or when the shop was at fault (`SHOP_FAULT_REASONS`: damaged,
  wrong item, not as described, whether the customer sends the item back or keeps
  it), else `SHOP_RETURN_SHIPPING_FEE`, never more than the refund;

- `amount_parse`: money as a positive `Decimal` to the cent (half up), or a
  refusal `invalid_amount`;
- `return_lines_parse`: `{order_item_id, quantity}` rows as `ReturnLine`s, or
  `invalid_items` (what the policy then says about each line is
  `return_check_eligibility`'s job);
- `order_item_lines`: rows (`order_item_id` or `sku`, `quantity`) checked against
  the order's own items (`item_not_in_order`, `invalid_quantity`,
  `duplicate_item`), with the details an approver sees;
- `order_refundable_balance`: what the order's captured payments still hold
  (paid minus refunded).

Pure reads: nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db.models import Sum

from apps.commerce.models import Order, OrderItem, Payment, PaymentStatus, ReturnReason
from apps.core.errors import ApplicationError

CENT = Decimal("0.01")
# The shop pays return shipping when the fault is its own.
SHOP_FAULT_REASONS = frozenset({ReturnReason.DAMAGED, ReturnReason.WRONG_ITEM, ReturnReason.NOT_AS_DESCRIBED})
# Payments that took money (a fully refunded one adds nothing: its amount is all refunded).
REFUNDABLE_PAYMENT_STATUSES = (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED)


@dataclass(frozen=True)
class ReturnLine:
    """One line of a return request: which item of the order, and how many."""

    order_item_id: int
    quantity: int
    exchange_variant_id: int | None = None  # exchanges: another variant of the same product


def line_amount(order: Order, item: OrderItem, quantity: int) -> Decimal:
    """The price of `quantity` units plus their proportional share of the order's tax."""
    net = item.unit_price * quantity
    if order.subtotal and order.tax:
        net += (order.tax * net / order.subtotal).quantize(CENT, rounding=ROUND_HALF_UP)
    return net.quantize(CENT, rounding=ROUND_HALF_UP)


def return_shipping_fee(*, reason: str, is_exchange: bool, gross: Decimal) -> Decimal:
    """The return shipping fee deducted from a refund of `gross` for `reason`."""
    if is_exchange or reason in SHOP_FAULT_REASONS or gross <= 0:
        return Decimal("0.00")
    return min(Decimal(settings.SHOP_RETURN_SHIPPING_FEE), gross)


def amount_parse(value: Any) -> Decimal:
    """A positive amount to the cent; `ApplicationError(invalid_amount)` for anything else."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ApplicationError("The amount is not a number.", code="invalid_amount") from exc
    if not amount.is_finite():
        raise ApplicationError("The amount is not a number.", code="invalid_amount")
    amount = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if amount <= 0:
        raise ApplicationError("The amount must be greater than zero.", code="invalid_amount")
    return amount


def return_lines_parse(items: list[dict[str, Any]] | list[Any] | None) -> list[ReturnLine] | None:
    """`{order_item_id, quantity}` rows as return lines; None for no rows (meaning everything returnable)."""
    if not items:
        return None
    lines = []
    for raw in items:
        try:
            lines.append(ReturnLine(order_item_id=int(raw["order_item_id"]), quantity=int(raw["quantity"])))
        except (KeyError, TypeError, ValueError):
            raise ApplicationError(
                "Each item needs an order_item_id (from the order's items) and a quantity.", code="invalid_items"
            ) from None
    return lines


def order_item_lines(*, order: Order, items: Any) -> list[dict[str, Any]]:
    """Rows naming items of `order` (by `order_item_id` or `sku`, with a quantity), checked and described."""
    if items is None:
        return []
    if not isinstance(items, list | tuple):
        raise ApplicationError("Items must be a list.", code="invalid_items")
    order_items = {oi.pk: oi for oi in OrderItem.objects.filter(order=order)}
    by_sku = {oi.sku: oi for oi in order_items.values()}
    cleaned: list[dict[str, Any]] = []
    seen: set[int] = set()
    for raw in items:
        if not isinstance(raw, dict):
            raise ApplicationError("Each item needs an order item id (or SKU) and a quantity.", code="invalid_items")
        order_item: OrderItem | None = None
        if raw.get("order_item_id") is not None:
            try:
                order_item = order_items.get(int(raw["order_item_id"]))
            except (TypeError, ValueError):
                order_item = None
        elif raw.get("sku"):
            order_item = by_sku.get(str(raw["sku"]))
        if order_item is None:
            raise ApplicationError("An item is not part of this order.", code="item_not_in_order")
        try:
            quantity = int(raw.get("quantity", order_item.quantity))
        except (TypeError, ValueError):
            quantity = 0
        if not 1 <= quantity <= order_item.quantity:
            raise ApplicationError(
                f"Quantity for {order_item.sku} must be between 1 and {order_item.quantity}.", code="invalid_quantity"
            )
        if order_item.pk in seen:
            raise ApplicationError("An item is listed twice.", code="duplicate_item")
        seen.add(order_item.pk)
        cleaned.append(
            {
                "order_item_id": order_item.pk,
                "sku": order_item.sku,
                "name": str(order_item),
                "quantity": quantity,
                "unit_price": str(order_item.unit_price),
                "final_sale": order_item.final_sale,
            }
        )
    return cleaned


def order_refundable_balance(*, order: Order) -> Decimal:
    """What the order's captured payments still hold: paid minus already refunded."""
    left = Payment.objects.filter(order=order, status__in=REFUNDABLE_PAYMENT_STATUSES).aggregate(
        left=Sum("amount") - Sum("refunded_amount")
    )["left"]
    return left or Decimal("0.00")
