from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.commerce.models import (
    AuditEvent,
    OrderStatus,
    ProductVariant,
    ReturnItem,
    ReturnRequest,
    ReturnStatus,
)
from apps.commerce.services import (
    ReturnLine,
    return_cancel,
    return_check_eligibility,
    return_create,
    return_mark_received,
)
from apps.core.errors import ApplicationError
from tests.commerce.factories import make_order, make_variant

pytestmark = pytest.mark.django_db


def _delivered(days_ago=5, items=None, tax="0.00"):
    return make_order(
        status=OrderStatus.DELIVERED,
        delivered_at=timezone.now() - timedelta(days=days_ago),
        items=items,
        tax=tax,
    )


@override_settings(SHOP_RETURN_WINDOW_DAYS=30, SHOP_RETURN_SHIPPING_FEE=Decimal("5.95"))
def test_eligible_within_window_with_fee_and_tax_share():
    # given two items, 10% tax
    shirt, mug = make_variant(price="40.00"), make_variant(price="10.00")
    order = _delivered(items=[(shirt, 2), (mug, 1)], tax="9.00")
    shirt_item = order.items.get(variant=shirt)
    # when
    result = return_check_eligibility(
        order=order, items=[ReturnLine(order_item_id=shirt_item.pk, quantity=1)], reason="size"
    )
    # then 40.00 + 4.00 tax share - 5.95 fee
    assert result.eligible is True
    assert result.reasons == ()
    assert result.return_shipping_fee == Decimal("5.95")
    assert result.refundable_amount == Decimal("38.05")
    assert result.window_ends_on == timezone.localdate(order.delivered_at + timedelta(days=30))
    assert [(v.sku, v.requested_quantity, v.returnable_quantity, v.eligible) for v in result.items] == [
        (shirt.sku, 1, 2, True)
    ]
    assert result.items[0].refundable_amount == Decimal("44.00")


def test_shop_fault_reason_has_no_return_fee():
    order = _delivered(items=[(make_variant(price="25.00"), 1)])

    result = return_check_eligibility(order=order, reason="damaged")

    assert result.eligible is True
    assert result.return_shipping_fee == Decimal("0.00")
    assert result.refundable_amount == Decimal("25.00")


@override_settings(SHOP_RETURN_WINDOW_DAYS=30)
def test_window_closed_after_thirty_days():
    order = _delivered(days_ago=31)

    result = return_check_eligibility(order=order)

    assert result.eligible is False
    assert [r.code for r in result.reasons] == ["window_closed"]
    assert result.refundable_amount == Decimal("0.00")


@override_settings(SHOP_RETURN_WINDOW_DAYS=30)
def test_window_boundary_uses_now_argument():
    order = _delivered(days_ago=0)
    end = order.delivered_at + timedelta(days=30)

    assert return_check_eligibility(order=order, now=end).eligible is True
    assert return_check_eligibility(order=order, now=end + timedelta(seconds=1)).eligible is False


def test_final_sale_item_refused_but_others_listed():
    sale, normal = make_variant(final_sale=True), make_variant()
    order = _delivered(items=[(sale, 1), (normal, 1)])
    sale_item, normal_item = order.items.get(variant=sale), order.items.get(variant=normal)

    result = return_check_eligibility(
        order=order,
        items=[
            ReturnLine(order_item_id=sale_item.pk, quantity=1),
            ReturnLine(order_item_id=normal_item.pk, quantity=1),
        ],
    )

    assert result.eligible is False
    assert [(v.order_item_id, v.eligible, [r.code for r in v.reasons]) for v in result.items] == [
        (sale_item.pk, False, ["final_sale"]),
        (normal_item.pk, True, []),
    ]
    assert result.reason_codes == ["final_sale"]


def test_all_items_default_skips_final_sale():
    sale, normal = make_variant(final_sale=True), make_variant()
    order = _delivered(items=[(sale, 1), (normal, 2)])

    result = return_check_eligibility(order=order)

    assert result.eligible is True
    assert [(v.sku, v.requested_quantity) for v in result.items] == [(normal.sku, 2)]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (OrderStatus.PENDING, "not_delivered"),
        (OrderStatus.SHIPPED, "not_delivered"),
        (OrderStatus.CANCELLED, "not_delivered"),
        (OrderStatus.RETURN_REQUESTED, "return_in_progress"),
        (OrderStatus.RETURNED, "already_returned"),
    ],
)
def test_not_returnable_statuses(status, code):
    order = make_order(status=status)

    result = return_check_eligibility(order=order)

    assert result.eligible is False
    assert result.reasons[0].code == code


def test_item_from_another_order_is_refused():
    order, other = _delivered(), _delivered()

    result = return_check_eligibility(order=order, items=[ReturnLine(order_item_id=other.items.get().pk, quantity=1)])

    assert result.eligible is False
    assert result.reason_codes == ["not_in_order"]


def test_quantity_above_bought_minus_returned_is_refused():
    variant = make_variant()
    order = _delivered(items=[(variant, 3)])
    item = order.items.get()
    return_create(order=order, items=[ReturnLine(item.pk, 2)], reason="size", actor_label="agent")
    order.refresh_from_db()
    order.status = OrderStatus.PARTIALLY_RETURNED  # as after the first return's refund
    order.save()

    too_many = return_check_eligibility(order=order, items=[ReturnLine(item.pk, 2)])
    one = return_check_eligibility(order=order, items=[ReturnLine(item.pk, 1)])

    assert too_many.eligible is False
    assert too_many.reason_codes == ["quantity_exceeds_returnable"]
    assert too_many.items[0].returnable_quantity == 1
    assert one.eligible is True


def test_return_create_issues_label_and_moves_order():
    # given
    variant = make_variant(price="30.00")
    order = _delivered(items=[(variant, 2)])
    item = order.items.get()
    # when
    rr = return_create(
        order=order,
        items=[ReturnLine(item.pk, 1)],
        reason="changed_mind",
        note="too big",
        actor_label=f"customer:{order.customer_id}",
    )
    # then
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURN_REQUESTED
    assert rr.status == ReturnStatus.LABEL_ISSUED
    assert rr.label_reference.startswith("RMA-")
    assert len(rr.label_reference) == 14
    assert rr.customer_id == order.customer_id
    assert rr.is_exchange is False
    assert rr.return_shipping_fee == Decimal("5.95")
    assert list(rr.items.values_list("order_item_id", "quantity")) == [(item.pk, 1)]
    events = list(
        AuditEvent.objects.filter(order=order).values_list("subject_type", "action", "from_state", "to_state")
    )
    assert events == [
        ("return", "return.create", "", "label_issued"),
        ("order", "order.request_return", "delivered", "return_requested"),
    ]
    assert AuditEvent.objects.get(action="return.create").data["refundable_amount"] == "24.05"


def _other_variant(variant, stock=3, name="L"):
    return ProductVariant.objects.create(
        product=variant.product, sku=f"{variant.sku}-{name}", name=name, price=variant.price, stock=stock
    )


def test_exchange_reserves_replacement_then_receipt_completes_and_restocks():
    # given a medium bought, a large in stock
    medium = make_variant(stock=0)
    large = _other_variant(medium, stock=3)
    order = _delivered(items=[(medium, 1)])
    line = ReturnLine(order.items.get().pk, 1, exchange_variant_id=large.pk)
    # when
    rr = return_create(order=order, items=[line], reason="size", is_exchange=True, actor_label="agent")
    # then
    order.refresh_from_db()
    large.refresh_from_db()
    assert order.status == OrderStatus.EXCHANGE_REQUESTED
    assert rr.return_shipping_fee == Decimal("0.00")
    assert large.stock == 2
    assert list(rr.items.values_list("quantity", "exchange_variant_id")) == [(1, large.pk)]

    return_mark_received(return_request=rr, actor_label="system")

    order.refresh_from_db()
    rr.refresh_from_db()
    medium.refresh_from_db()
    assert order.status == OrderStatus.EXCHANGED
    assert rr.status == ReturnStatus.RECEIVED
    assert rr.received_at is not None
    assert medium.stock == 1
    assert list(AuditEvent.objects.filter(order=order).values_list("action", flat=True)) == [
        "return.create",
        "order.request_exchange",
        "return.mark_received",
        "order.complete_exchange",
    ]


def test_exchange_refusals_name_the_problem():
    medium = make_variant()
    sold_out = _other_variant(medium, stock=0, name="S")
    unrelated = make_variant()
    order = _delivered(items=[(medium, 1)])
    item_pk = order.items.get().pk

    def codes(variant_id):
        line = ReturnLine(item_pk, 1, exchange_variant_id=variant_id)
        return return_check_eligibility(order=order, items=[line], is_exchange=True).reason_codes

    assert codes(None) == ["exchange_variant_required"]
    assert codes(unrelated.pk) == ["exchange_variant_invalid"]
    assert codes(medium.pk) == ["exchange_variant_invalid"]
    assert codes(sold_out.pk) == ["exchange_variant_out_of_stock"]
    with pytest.raises(ApplicationError) as exc:
        return_create(
            order=order,
            items=[ReturnLine(item_pk, 1, exchange_variant_id=sold_out.pk)],
            reason="size",
            is_exchange=True,
            actor_label="agent",
        )
    assert exc.value.code == "return_not_eligible"
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert ReturnRequest.objects.count() == 0


def test_whole_order_back_by_shop_fault_refunds_original_shipping():
    order = make_order(
        status=OrderStatus.DELIVERED,
        items=[(make_variant(price="30.00"), 1)],
        shipping_fee="5.99",
        delivered_at=timezone.now() - timedelta(days=1),
    )

    damaged = return_check_eligibility(order=order, reason="damaged")
    changed_mind = return_check_eligibility(order=order, reason="changed_mind")

    assert (damaged.refundable_amount, damaged.refunds_original_shipping) == (Decimal("35.99"), True)
    assert (changed_mind.refundable_amount, changed_mind.refunds_original_shipping) == (Decimal("24.05"), False)


def test_return_create_refused_when_ineligible_writes_nothing():
    order = _delivered(days_ago=60)

    with pytest.raises(ApplicationError) as exc:
        return_create(order=order, items=None, reason="size", actor_label="agent")

    assert exc.value.code == "return_not_eligible"
    assert exc.value.extra == {"reasons": ["window_closed"]}
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert ReturnRequest.objects.count() == 0
    assert ReturnItem.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_return_create_refused_for_final_sale_item():
    order = _delivered(items=[(make_variant(final_sale=True), 1)])

    with pytest.raises(ApplicationError) as exc:
        return_create(order=order, items=[ReturnLine(order.items.get().pk, 1)], reason="size", actor_label="agent")

    assert exc.value.code == "return_not_eligible"
    assert "final-sale" in exc.value.message
    assert ReturnRequest.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_return_create_refuses_unknown_reason():
    order = _delivered()

    with pytest.raises(ApplicationError) as exc:
        return_create(order=order, items=None, reason="because", actor_label="agent")

    assert exc.value.code == "invalid_reason"
    assert ReturnRequest.objects.count() == 0


def test_second_return_while_one_is_open_is_refused():
    order = _delivered(items=[(make_variant(), 2)])
    return_create(order=order, items=[ReturnLine(order.items.get().pk, 1)], reason="size", actor_label="agent")

    with pytest.raises(ApplicationError) as exc:
        return_create(order=order, items=[ReturnLine(order.items.get().pk, 1)], reason="size", actor_label="agent")

    assert exc.value.extra == {"reasons": ["return_in_progress"]}
    assert ReturnRequest.objects.count() == 1


def test_mark_received_restocks_return_and_keeps_order_awaiting_refund():
    variant = make_variant(stock=2)
    order = _delivered(items=[(variant, 3)])
    rr = return_create(order=order, items=None, reason="size", actor_label="agent")

    return_mark_received(return_request=rr, actor_label="system")

    rr.refresh_from_db()
    order.refresh_from_db()
    variant.refresh_from_db()
    assert rr.status == ReturnStatus.RECEIVED
    assert order.status == OrderStatus.RETURN_REQUESTED
    assert variant.stock == 5
    assert AuditEvent.objects.get(action="return.mark_received").data == {"restocked": {variant.sku: 3}}


def test_mark_received_twice_is_refused_and_does_not_restock_again():
    variant = make_variant(stock=0)
    order = _delivered(items=[(variant, 1)])
    rr = return_create(order=order, items=None, reason="size", actor_label="agent")
    return_mark_received(return_request=rr, actor_label="system")
    audit_count = AuditEvent.objects.count()

    with pytest.raises(ApplicationError) as exc:
        return_mark_received(return_request=rr, actor_label="system")

    assert exc.value.code == "invalid_transition"
    variant.refresh_from_db()
    assert variant.stock == 1
    assert AuditEvent.objects.count() == audit_count


def test_customer_withdraws_return_order_back_to_delivered():
    order = _delivered()
    rr = return_create(order=order, items=None, reason="size", actor_label="agent")

    return_cancel(return_request=rr, actor_label=f"customer:{order.customer_id}", note="kept it")

    rr.refresh_from_db()
    order.refresh_from_db()
    assert rr.status == ReturnStatus.CANCELLED
    assert order.status == OrderStatus.DELIVERED
    assert list(AuditEvent.objects.filter(order=order).values_list("action", "from_state", "to_state"))[-2:] == [
        ("return.cancel", "label_issued", "cancelled"),
        ("order.withdraw_return", "return_requested", "delivered"),
    ]
    # the withdrawn quantity is returnable again
    assert return_check_eligibility(order=order).eligible is True


def test_staff_rejects_exchange_and_reservation_is_released():
    medium = make_variant()
    large = _other_variant(medium, stock=1)
    order = _delivered(items=[(medium, 1)])
    rr = return_create(
        order=order,
        items=[ReturnLine(order.items.get().pk, 1, exchange_variant_id=large.pk)],
        reason="size",
        is_exchange=True,
        actor_label="agent",
    )
    large.refresh_from_db()
    assert large.stock == 0

    return_cancel(return_request=rr, actor_label="staff:lead", reject=True, note="worn")

    large.refresh_from_db()
    order.refresh_from_db()
    rr.refresh_from_db()
    assert large.stock == 1
    assert (rr.status, rr.note) == (ReturnStatus.REJECTED, "worn")
    assert order.status == OrderStatus.DELIVERED
    assert AuditEvent.objects.get(action="return.reject").data == {
        "note": "worn",
        "released_variants": {str(large.pk): 1},
    }


def test_reject_needs_staff_and_received_return_cannot_be_withdrawn():
    order = _delivered()
    rr = return_create(order=order, items=None, reason="size", actor_label="agent")

    with pytest.raises(ApplicationError) as not_staff:
        return_cancel(return_request=rr, actor_label="agent", reject=True)
    return_mark_received(return_request=rr, actor_label="system")
    audit_count = AuditEvent.objects.count()
    with pytest.raises(ApplicationError) as received:
        return_cancel(return_request=rr, actor_label=f"customer:{order.customer_id}")

    assert not_staff.value.code == "forbidden"
    assert received.value.code == "invalid_transition"
    rr.refresh_from_db()
    order.refresh_from_db()
    assert rr.status == ReturnStatus.RECEIVED
    assert order.status == OrderStatus.RETURN_REQUESTED
    assert AuditEvent.objects.count() == audit_count


def test_refundable_amount_never_exceeds_what_is_left_to_refund():
    # three items whose tax shares each round up: 3 x 0.335 -> 3 x 0.34 = 1.02 > 1.00 tax
    a, b, c = make_variant(price="3.35"), make_variant(price="3.35"), make_variant(price="3.30")
    order = _delivered(items=[(a, 1), (b, 1), (c, 1)], tax="1.00")

    result = return_check_eligibility(order=order, reason="damaged")

    assert sum(v.refundable_amount for v in result.items) == Decimal("11.01")
    assert result.refundable_amount == Decimal("11.00") == order.total


@override_settings(SHOP_RETURN_WINDOW_DAYS=30, SHOP_RETURN_SHIPPING_FEE=Decimal("5.95"))
def test_eligibility_for_an_open_return_judges_that_return():
    # given: a return of 1 of 2 shirts (10% tax), opened in the window
    shirt, mug = make_variant(price="40.00"), make_variant(price="10.00")
    order = _delivered(items=[(shirt, 2), (mug, 1)], tax="9.00")
    shirt_item = order.items.get(variant=shirt)
    returned = return_create(
        order=order, items=[ReturnLine(order_item_id=shirt_item.pk, quantity=1)], reason="size", actor_label="agent"
    )
    order.refresh_from_db()
    # when: judged as a new return, and as the return being refunded
    as_new = return_check_eligibility(order=order)
    as_open = return_check_eligibility(order=order, for_return=returned)
    # then: a new return is refused, the open one is judged on its own items, reason and fee
    assert as_new.reason_codes == ["return_in_progress"]
    assert (as_open.eligible, as_open.reason_codes) == (True, [])
    assert [(v.order_item_id, v.requested_quantity, v.returnable_quantity) for v in as_open.items] == [
        (shirt_item.pk, 1, 2)
    ]
    assert (as_open.return_shipping_fee, as_open.refundable_amount) == (Decimal("5.95"), Decimal("38.05"))


@override_settings(SHOP_RETURN_WINDOW_DAYS=30)
def test_eligibility_for_an_open_return_uses_the_window_when_it_was_opened():
    # given: opened on day 29, judged on day 35
    order = _delivered(days_ago=29)
    returned = return_create(order=order, items=None, reason="damaged", actor_label="agent")
    later = timezone.now() + timedelta(days=6)
    # when
    result = return_check_eligibility(order=order, for_return=returned, now=later)
    # then
    assert (result.eligible, result.reason_codes) == (True, [])


def test_eligibility_for_a_closed_or_foreign_return_is_refused():
    # given
    order, other = _delivered(), _delivered()
    withdrawn = return_create(order=order, items=None, reason="size", actor_label="agent")
    return_cancel(return_request=withdrawn, actor_label="agent")
    foreign = return_create(order=other, items=None, reason="size", actor_label="agent")
    # when
    closed = return_check_eligibility(order=order, for_return=withdrawn)
    elsewhere = return_check_eligibility(order=order, for_return=foreign)
    # then
    assert (closed.eligible, closed.reasons[0].code, closed.refundable_amount) == (False, "return_closed", Decimal("0"))
    assert (elsewhere.eligible, elsewhere.reasons[0].code) == (False, "return_not_for_order")


@pytest.mark.parametrize(
    ("status", "window"),
    [(OrderStatus.PENDING, True), (OrderStatus.SHIPPED, True), (OrderStatus.CANCELLED, False)],
)
def test_an_order_not_delivered_yet_says_how_long_returns_last_once_it_arrives(status, window, settings):
    # given an order that has not been delivered, in a shop with a 30-day window
    settings.SHOP_RETURN_WINDOW_DAYS = 30
    order = make_order(status=status)

    # when
    result = return_check_eligibility(order=order)

    # then an order on its way states the window from delivery; a cancelled one, which will not arrive, does not
    [refusal] = result.reasons
    assert refusal.code == "not_delivered"
    assert ("you then have 30 days from delivery to send it back" in refusal.message) is window
