"""The shop's return policy: which items of an order can go back, within which window, for how much.

`return_check_eligibility` is the one verdict the agent explains, the approvers
see and `return_create` enforces. Lines and the return shipping fee are priced by
`apps.commerce.refund_rules`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from apps.commerce.models import (
    Order,
    OrderItem,
    OrderStatus,
    PaymentStatus,
    ProductVariant,
    ReturnItem,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from apps.commerce.refund_rules import CENT, SHOP_FAULT_REASONS, ReturnLine, line_amount, return_shipping_fee

# Statuses from which a (further) return or exchange may start.
RETURNABLE_ORDER_STATUSES = frozenset({OrderStatus.DELIVERED, OrderStatus.PARTIALLY_RETURNED, OrderStatus.EXCHANGED})
OPEN_RETURN_STATUSES = frozenset({ReturnStatus.REQUESTED, ReturnStatus.LABEL_ISSUED, ReturnStatus.RECEIVED})
COUNTED_RETURN_STATUSES = frozenset(
    {ReturnStatus.REQUESTED, ReturnStatus.LABEL_ISSUED, ReturnStatus.RECEIVED, ReturnStatus.REFUNDED}
)


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


@dataclass(frozen=True)
class ItemVerdict:
    order_item_id: int
    sku: str
    product_name: str
    requested_quantity: int
    returnable_quantity: int  # bought minus already returned (or in an open return)
    eligible: bool
    reasons: tuple[Refusal, ...]
    refundable_amount: Decimal
    exchange_variant_id: int | None = None


@dataclass(frozen=True)
class ReturnEligibility:
    order_number: str
    eligible: bool
    reasons: tuple[Refusal, ...]  # order-level refusals; item-level ones are in `items`
    items: tuple[ItemVerdict, ...]
    refundable_amount: Decimal  # items + their tax share (+ original shipping if all back by our fault) - fee
    return_shipping_fee: Decimal
    refunds_original_shipping: bool
    currency: str
    window_ends_on: date | None
    window_days: int

    @property
    def reason_codes(self) -> list[str]:
        return [r.code for r in self.reasons] + [r.code for v in self.items for r in v.reasons]


def _returned_quantities(order: Order, *, excluding: ReturnRequest | None = None) -> dict[int, int]:
    rows = ReturnItem.objects.filter(
        return_request__order=order, return_request__status__in=list(COUNTED_RETURN_STATUSES)
    )
    if excluding is not None:
        rows = rows.exclude(return_request=excluding)
    rows = rows.values("order_item_id").annotate(q=Sum("quantity"))
    return {r["order_item_id"]: r["q"] for r in rows}


def return_window_end(order: Order) -> datetime | None:
    if order.delivered_at is None:
        return None
    return order.delivered_at + timedelta(days=settings.SHOP_RETURN_WINDOW_DAYS)


def return_check_eligibility(
    *,
    order: Order,
    items: Sequence[ReturnLine] | None = None,
    reason: str = "",
    is_exchange: bool = False,
    now: datetime | None = None,
    for_return: ReturnRequest | None = None,
) -> ReturnEligibility:
    """Can these items of this order go back? Read-only; `items=None` means everything still returnable.

    `for_return` judges an existing open return instead (before refunding it): that return
    does not count as "in progress" nor against the returnable quantities, the window is
    judged when it was opened, `items=None` means its items and `reason=""` its reason.

    The window is `SHOP_RETURN_WINDOW_DAYS` from delivery; final-sale items are
    refused; quantities may not exceed what was bought minus what was already
    returned. The return shipping fee is charged unless the shop was at fault;
    when the shop was at fault and this brings everything back, the original
    shipping is refunded too. An exchange names, per line, an in-stock variant
    of the same product.
    """
    now = now or timezone.now()
    order_reasons: list[Refusal] = []
    if for_return is not None:
        order_reasons.extend(_for_return_refusals(order, for_return))
        now = for_return.created_at
        reason = reason or for_return.reason
        if items is None:
            items = [ReturnLine(order_item_id=ri.order_item_id, quantity=ri.quantity) for ri in for_return.items.all()]
    elif order.status not in RETURNABLE_ORDER_STATUSES:
        if order.status in (OrderStatus.RETURN_REQUESTED, OrderStatus.EXCHANGE_REQUESTED):
            order_reasons.append(
                Refusal("return_in_progress", f"Order {order.number} already has a return or exchange in progress.")
            )
        elif order.status == OrderStatus.RETURNED:
            order_reasons.append(Refusal("already_returned", f"Order {order.number} has been returned in full."))
        else:
            # An order on its way says how long they will have once it arrives ("how long will i have to send them
            # back?" is asked before delivery); a cancelled one will never arrive.
            then = (
                f", and you then have {settings.SHOP_RETURN_WINDOW_DAYS} days from delivery to send it back"
                if order.status != OrderStatus.CANCELLED
                else ""
            )
            order_reasons.append(
                Refusal(
                    "not_delivered",
                    f"Order {order.number} is {order.get_status_display().lower()}; returns start once it is "
                    f"delivered{then}.",
                )
            )
    window_end = return_window_end(order)
    window_ends_on = timezone.localdate(window_end) if window_end else None
    if window_end is not None and now > window_end:
        order_reasons.append(
            Refusal(
                "window_closed",
                f"The {settings.SHOP_RETURN_WINDOW_DAYS}-day return window closed on {window_ends_on:%B %-d, %Y}.",
            )
        )
    if reason and reason not in ReturnReason.values:
        order_reasons.append(Refusal("invalid_reason", f"'{reason}' is not a return reason."))

    order_items = {item.pk: item for item in order.items.select_related("variant")}
    returned = _returned_quantities(order, excluding=for_return)
    if items is None:
        lines = [
            ReturnLine(order_item_id=pk, quantity=item.quantity - returned.get(pk, 0))
            for pk, item in order_items.items()
            if item.quantity - returned.get(pk, 0) > 0 and not item.final_sale
        ]
        if not lines and not order_reasons:
            order_reasons.append(Refusal("nothing_returnable", f"Nothing on order {order.number} can be returned."))
    else:
        lines = list(items)
        if not lines:
            order_reasons.append(Refusal("no_items", "Name at least one item to return."))

    verdicts: list[ItemVerdict] = []
    seen: set[int] = set()
    for line in lines:
        item = order_items.get(line.order_item_id)
        if item is None:
            verdicts.append(
                ItemVerdict(
                    order_item_id=line.order_item_id,
                    sku="",
                    product_name="",
                    requested_quantity=line.quantity,
                    returnable_quantity=0,
                    eligible=False,
                    reasons=(Refusal("not_in_order", f"That item is not part of order {order.number}."),),
                    refundable_amount=Decimal("0.00"),
                )
            )
            continue
        reasons: list[Refusal] = []
        remaining = max(item.quantity - returned.get(item.pk, 0), 0)
        if item.pk in seen:
            reasons.append(Refusal("duplicate_item", f"{item.product_name} is listed twice."))
        seen.add(item.pk)
        if item.final_sale:
            reasons.append(Refusal("final_sale", f"{item.product_name} was a final-sale item and cannot be returned."))
        if line.quantity < 1:
            reasons.append(Refusal("invalid_quantity", "The quantity to return must be at least 1."))
        elif line.quantity > remaining:
            reasons.append(
                Refusal(
                    "quantity_exceeds_returnable",
                    f"Only {remaining} of {item.product_name} can still be returned "
                    f"({item.quantity} bought, {item.quantity - remaining} already returned).",
                )
            )
        if is_exchange:
            reasons.extend(_exchange_refusals(item, line))
        ok = not reasons
        verdicts.append(
            ItemVerdict(
                order_item_id=item.pk,
                sku=item.sku,
                product_name=item.product_name,
                requested_quantity=line.quantity,
                returnable_quantity=remaining,
                eligible=ok,
                reasons=tuple(reasons),
                refundable_amount=line_amount(order, item, line.quantity) if ok else Decimal("0.00"),
                exchange_variant_id=line.exchange_variant_id if is_exchange else None,
            )
        )

    eligible = not order_reasons and bool(verdicts) and all(v.eligible for v in verdicts)
    gross = sum((v.refundable_amount for v in verdicts), Decimal("0.00"))
    fee = return_shipping_fee(reason=reason, is_exchange=is_exchange, gross=gross)
    requested = {v.order_item_id: v.requested_quantity for v in verdicts if v.eligible}
    everything_back = all(
        returned.get(pk, 0) + requested.get(pk, 0) >= item.quantity for pk, item in order_items.items()
    )
    refunds_shipping = (
        eligible and not is_exchange and reason in SHOP_FAULT_REASONS and everything_back and order.shipping_fee > 0
    )
    if refunds_shipping:
        gross += order.shipping_fee
    refundable = Decimal("0.00") if is_exchange or not eligible else (gross - fee).quantize(CENT)
    if refundable > 0:
        # Per-line tax rounding must never promise more than is left to refund on the order.
        remaining = sum(
            (
                p.amount - p.refunded_amount
                for p in order.payments.filter(status__in=[PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED])
            ),
            Decimal("0.00"),
        )
        refundable = min(refundable, remaining)
    return ReturnEligibility(
        order_number=order.number,
        eligible=eligible,
        reasons=tuple(order_reasons),
        items=tuple(verdicts),
        refundable_amount=refundable,
        return_shipping_fee=fee if eligible else Decimal("0.00"),
        refunds_original_shipping=refunds_shipping,
        currency=order.currency,
        window_ends_on=window_ends_on,
        window_days=settings.SHOP_RETURN_WINDOW_DAYS,
    )


def _for_return_refusals(order: Order, return_request: ReturnRequest) -> list[Refusal]:
    if return_request.order_id != order.pk:
        return [Refusal("return_not_for_order", f"That return is not for order {order.number}.")]
    if return_request.is_exchange:
        return [Refusal("return_is_exchange", "An exchange is not refunded.")]
    if return_request.status not in OPEN_RETURN_STATUSES:
        return [
            Refusal(
                "return_closed",
                f"Return {return_request.label_reference or return_request.pk} is "
                f"{return_request.get_status_display().lower()}.",
            )
        ]
    return []


def _exchange_refusals(item: OrderItem, line: ReturnLine) -> list[Refusal]:
    if line.exchange_variant_id is None:
        return [Refusal("exchange_variant_required", f"Say which size or colour of {item.product_name} you want.")]
    variant = ProductVariant.objects.filter(pk=line.exchange_variant_id).first()
    if variant is None or variant.product_id != item.variant.product_id or variant.pk == item.variant_id:
        return [
            Refusal(
                "exchange_variant_invalid",
                f"An exchange is for another size or colour of {item.product_name}; "
                "for a different product, return it and place a new order.",
            )
        ]
    if variant.stock < max(line.quantity, 1):
        return [Refusal("exchange_variant_out_of_stock", f"{item.product_name} ({variant.name}) is out of stock.")]
    return []
