"""A description of an order that fits nothing of the customer's is said to fit nothing, not replaced by a guess."""

from __future__ import annotations

from typing import Any

from apps.commerce.models import OrderStatus, ReturnRequest
from apps.conversations.models import Conversation
from tests.agents.specialists.conftest import Shop


def test_an_amount_near_none_of_their_orders_is_said_so_with_the_orders_that_can_be_cancelled(
    shop: Shop, use_model: Any, chat: Any
) -> None:
    from apps.agents.specialists.order.local import behaviour

    # given alice's orders come to 52.00 (pending), 101.52 (delivered) and 68.00 (shipped)
    use_model("order", behaviour)
    conversation = Conversation.objects.create(customer=shop.alice)
    # when
    reply, spans = chat(conversation, "can i get the forty dollar order cancelled")
    # then she hears that none is near $40 and which one can be cancelled; nothing is cancelled
    assert [s.name for s in spans] == ["list_orders"]
    assert reply.startswith("None of your recent orders comes to about $40.")
    assert "These can still be cancelled:" in reply
    assert shop.alice_pending.number in reply
    assert shop.alice_delivered.number not in reply
    shop.alice_pending.refresh_from_db()
    assert shop.alice_pending.status == OrderStatus.PENDING


def test_an_item_their_last_order_does_not_hold_is_said_not_to_be_in_it(shop: Shop, use_model: Any, chat: Any) -> None:
    from apps.agents.specialists.returns.local import behaviour

    # given alice's last order (the shipped hoodie) holds no socks; her delivered order does
    use_model("returns", behaviour)
    conversation = Conversation.objects.create(customer=shop.alice)
    # when
    reply, _ = chat(conversation, "I want to return the socks from my last order")
    # then the reply says so before offering the socks she has; no return is opened yet
    assert reply.startswith(f"Your last order, {shop.alice_shipped.number}, has no socks in it.")
    assert shop.alice_delivered.number in reply
    assert not ReturnRequest.objects.exists()


def test_an_amount_near_none_of_their_orders_is_not_taken_as_the_order_the_conversation_is_on(
    shop: Shop, use_model: Any, chat: Any
) -> None:
    from apps.agents.specialists.order.local import behaviour

    # given the conversation is on alice's shipped order (68.00), then she describes an order by an amount
    use_model("order", behaviour)
    conversation = Conversation.objects.create(customer=shop.alice)
    chat(conversation, f"where is {shop.alice_shipped.number}?")
    # when
    reply, _ = chat(conversation, "can i get the forty dollar order cancelled")
    # then the amount fits none of her orders: said so, not answered about the order the conversation was on
    assert reply.startswith("None of your recent orders comes to about $40.")
    assert f"Order {shop.alice_shipped.number} is shipped" not in reply
    shop.alice_pending.refresh_from_db()
    assert shop.alice_pending.status == OrderStatus.PENDING
