"""The refund rules every caller prices with: a line's amount and the return shipping fee."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.commerce.models import OrderStatus
from apps.commerce.refund_rules import ReturnLine, line_amount, return_shipping_fee
from apps.commerce.services import return_check_eligibility
from tests.commerce.factories import make_order, make_variant


@override_settings(SHOP_RETURN_SHIPPING_FEE=Decimal("5.95"))
@pytest.mark.parametrize(
    ("reason", "is_exchange", "gross", "fee"),
    [
        ("damaged", False, "30.24", "0.00"),
        ("wrong_item", False, "30.24", "0.00"),
        ("not_as_described", False, "30.24", "0.00"),
        ("size", False, "30.24", "5.95"),
        ("changed_mind", False, "30.24", "5.95"),
        ("other", False, "30.24", "5.95"),
        ("", False, "30.24", "5.95"),
        ("size", True, "30.24", "0.00"),
        ("size", False, "3.00", "3.00"),
        ("size", False, "0.00", "0.00"),
    ],
)
def test_the_return_fee_is_charged_only_when_the_shop_was_not_at_fault(reason, is_exchange, gross, fee):
    assert return_shipping_fee(reason=reason, is_exchange=is_exchange, gross=Decimal(gross)) == Decimal(fee)


@pytest.mark.django_db
def test_a_line_refunds_its_price_and_its_share_of_the_tax():
    # given 28.00 and 12.00 with 3.20 tax (8%)
    kettle, mug = make_variant(price="28.00"), make_variant(price="12.00")
    order = make_order(status=OrderStatus.DELIVERED, items=[(kettle, 1), (mug, 2)], tax="4.16")
    kettle_line, mug_line = order.items.get(variant=kettle), order.items.get(variant=mug)
    # then
    assert line_amount(order, kettle_line, 1) == Decimal("30.24")  # 28.00 + 2.24
    assert line_amount(order, mug_line, 1) == Decimal("12.96")  # 12.00 + 0.96
    assert line_amount(order, mug_line, 2) == Decimal("25.92")


@pytest.mark.django_db
@override_settings(SHOP_RETURN_SHIPPING_FEE=Decimal("5.95"), SHOP_RETURN_WINDOW_DAYS=30)
def test_the_policy_refunds_a_damaged_item_in_full_and_a_wrong_size_less_the_fee():
    # given a delivered 28.00 kettle with 2.24 tax, and a second item so nothing brings the whole order back
    kettle, mug = make_variant(price="28.00"), make_variant(price="12.00")
    order = make_order(
        status=OrderStatus.DELIVERED,
        items=[(kettle, 1), (mug, 1)],
        tax="3.20",
        delivered_at=timezone.now() - timedelta(days=3),
    )
    lines = [ReturnLine(order_item_id=order.items.get(variant=kettle).pk, quantity=1)]
    # when
    damaged = return_check_eligibility(order=order, items=lines, reason="damaged")
    size = return_check_eligibility(order=order, items=lines, reason="size")
    # then
    assert (damaged.refundable_amount, damaged.return_shipping_fee) == (Decimal("30.24"), Decimal("0.00"))
    assert (size.refundable_amount, size.return_shipping_fee) == (Decimal("24.29"), Decimal("5.95"))
