"""Refund status: the order the customer names by its item or amount, and why money came back."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from apps.agents.deps import SupportDeps
from apps.agents.specialists.returns.status import _named_order_only
from apps.agents.specialists.returns.tools import refund_status
from apps.commerce.models import Refund, RefundStatus
from tests.agents.specialists.conftest import Shop


def _goodwill(order: Any, amount: str, reason: str) -> Refund:
    return Refund.objects.create(
        order=order,
        payment=order.payments.first(),
        amount=Decimal(amount),
        status=RefundStatus.SUCCEEDED,
        reason=reason,
        idempotency_key=f"test-{order.number}",
    )


def _status(shop: Shop) -> dict[str, Any]:
    deps = SupportDeps(conversation=None, customer=shop.alice, verified_order=None, trace=None)  # type: ignore[arg-type]
    return refund_status.function(SimpleNamespace(deps=deps))


def test_refund_status_lists_the_orders_it_is_about_and_why_money_came_back(shop: Shop) -> None:
    # given a goodwill credit on alice's delivered order, and a refund on her shipped one
    _goodwill(shop.alice_delivered, "10.00", "Goodwill credit: delivered three days late")
    _goodwill(shop.alice_shipped, "5.00", "Shipping fee refunded")
    # when
    data = _status(shop)
    # then each refund says why, and the orders come as a list shows them (items and totals)
    assert {r["order_number"]: r["reason"] for r in data["refunds"]} == {
        "TW-200002": "Goodwill credit: delivered three days late",
        "TW-200003": "Shipping fee refunded",
    }
    assert sorted(o["number"] for o in data["orders"]) == ["TW-200002", "TW-200003"]
    assert next(o for o in data["orders"] if o["number"] == "TW-200002")["total"] == "101.52"


def test_the_status_narrows_to_the_order_named_by_its_item_or_its_amount(shop: Shop) -> None:
    # given refunds on two orders
    _goodwill(shop.alice_delivered, "10.00", "Goodwill credit: delivered three days late")
    _goodwill(shop.alice_shipped, "5.00", "Shipping fee refunded")
    data = _status(shop)
    # when the customer names one by an item only it holds, or by its total
    by_item = _named_order_only(SimpleNamespace(text="why only 10 back on the socks?"), data)
    by_amount = _named_order_only(SimpleNamespace(text="why only 10 back on the $101.52 one?"), data)
    unnamed = _named_order_only(SimpleNamespace(text="where's my refund?"), data)
    # then
    assert [r["order_number"] for r in by_item["refunds"]] == ["TW-200002"]
    assert [r["order_number"] for r in by_amount["refunds"]] == ["TW-200002"]
    assert sorted(r["order_number"] for r in unnamed["refunds"]) == ["TW-200002", "TW-200003"]


def test_a_refund_says_which_card_the_money_went_back_to(shop: Shop) -> None:
    # given a goodwill credit on alice's delivered order, paid with her Visa ending 4242
    _goodwill(shop.alice_delivered, "10.00", "Goodwill credit: delivered three days late")
    # when
    data = _status(shop)
    # then the refund names the card, masked as stored
    assert [r["paid_to"] for r in data["refunds"]] == ["Visa •••• 4242"]
