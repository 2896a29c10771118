"""A request for every order that fits ("cancel both", "the 2 orders that are still pending"): held together."""

from __future__ import annotations

from typing import Any

from apps.agents.models import PendingAction, PendingActionStatus
from apps.commerce.models import OrderStatus
from apps.conversations.models import Conversation
from tests.agents.specialists.conftest import Shop
from tests.commerce.factories import make_order, make_variant


def test_cancelling_the_two_pending_orders_holds_both_for_one_yes(shop: Shop, use_model: Any, chat: Any) -> None:
    from apps.agents.specialists.order.local import behaviour

    # given alice has two pending orders
    other = make_order(
        customer=shop.alice, status=OrderStatus.PENDING, items=[(make_variant(price="90.00", name="Wool Throw"), 1)]
    )
    use_model("order", behaviour)
    conversation = Conversation.objects.create(customer=shop.alice)
    # when
    reply, _ = chat(conversation, "can you cancel the 2 orders i have that are still pending")
    # then both wait for one yes, and nothing is cancelled yet
    held = PendingAction.objects.filter(conversation=conversation, status=PendingActionStatus.PENDING)
    assert sorted(a.arguments["order_number"] for a in held) == sorted([shop.alice_pending.number, other.number])
    assert reply.startswith("Just to confirm, I will make these 2 changes:")
    other.refresh_from_db()
    assert other.status == OrderStatus.PENDING
    # when she says yes to both
    chat(conversation, "yes both")
    # then both are cancelled
    shop.alice_pending.refresh_from_db()
    other.refresh_from_db()
    assert (shop.alice_pending.status, other.status) == (OrderStatus.CANCELLED, OrderStatus.CANCELLED)
