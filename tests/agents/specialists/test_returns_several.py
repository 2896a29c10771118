"""Items of two orders returned in one message: one return per order, both confirmed by one yes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from apps.agents import registry
from apps.commerce.models import OrderStatus, ReturnRequest
from apps.conversations.models import Conversation
from tests.agents.specialists.conftest import Shop
from tests.commerce.factories import make_order, make_variant


def test_two_items_of_two_orders_are_two_returns_confirmed_by_one_yes(shop: Shop, use_model: Any, chat: Any) -> None:
    # given alice's hoodie (with socks) was delivered in one order, a canvas tote in another
    use_model("returns", registry.specialist_for("returns").local_behaviour)
    tote = make_order(
        customer=shop.alice,
        status=OrderStatus.DELIVERED,
        items=[(make_variant(price="30.00", name="Canvas Tote Bag"), 1)],
        delivered_at=timezone.now() - timedelta(days=4),
        number="TW-200009",
    )
    conversation = Conversation.objects.create(customer=shop.alice)
    # when she asks to return both
    reply, spans = chat(conversation, "id like to return the canvas tote and the hoodie, neither worked out for me")
    # then each order is checked and one return per order waits for one yes; nothing is opened yet
    names = [s.name for s in spans]
    assert names.count("check_return_eligibility") == 2
    assert names.count("create_return") == 2
    assert reply.startswith("Just to confirm, I will make these 2 changes:")
    assert tote.number in reply
    assert shop.alice_delivered.number in reply
    assert not ReturnRequest.objects.exists()
    # when she says yes to both
    chat(conversation, "yes to both")
    # then both returns are open, the hoodie's alone on its order
    opened = {r.order.number: [i.order_item.product_name for i in r.items.all()] for r in ReturnRequest.objects.all()}
    assert opened == {"TW-200009": ["Canvas Tote Bag"], "TW-200002": ["Harbor Hoodie"]}


def test_two_items_of_one_order_stay_one_return(shop: Shop, use_model: Any, chat: Any) -> None:
    # given alice's hoodie and socks are in the same delivered order
    use_model("returns", registry.specialist_for("returns").local_behaviour)
    conversation = Conversation.objects.create(customer=shop.alice)
    # when
    reply, spans = chat(conversation, "i want to return the hoodie and the socks, changed my mind")
    # then one return of that order is asked about, as before
    assert [s.name for s in spans].count("create_return") == 1
    assert reply.startswith("Just to confirm: I will start a return of")
