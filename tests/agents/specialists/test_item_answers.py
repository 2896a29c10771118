"""A question about which size or colour of their own item the customer ordered is answered from the order's lines."""

from __future__ import annotations

from typing import Any

from apps.agents import registry
from apps.agents.specialists.results import day
from apps.commerce.models import ReturnRequest
from apps.conversations.models import Conversation
from tests.agents.specialists.conftest import Shop


def test_the_returns_specialist_answers_what_size_of_their_item_they_ordered_from_the_orders(
    shop: Shop, use_model: Any, chat: Any
) -> None:
    # given alice's hoodie (variant "M") is in a delivered order and a shipped one; the router sent her question to
    # returns
    use_model("returns", registry.specialist_for("returns").local_behaviour)
    conversation = Conversation.objects.create(customer=shop.alice)
    # when
    reply, spans = chat(conversation, "what size did i order the hoodie in? my wife says the big one")
    # then the answer is read from her orders' lines, newest first; no eligibility check, no return
    placed = {o.number: day(o.placed_at.date().isoformat()) for o in (shop.alice_shipped, shop.alice_delivered)}
    assert [s.name for s in spans] == ["list_returnable_orders"]
    assert reply == (
        "You ordered these:\n\n"
        f"- the Harbor Hoodie in **M**: order TW-200003, placed {placed['TW-200003']}, shipped\n"
        f"- the Harbor Hoodie in **M**: order TW-200002, placed {placed['TW-200002']}, delivered"
    )
    assert not ReturnRequest.objects.exists()


def test_the_order_specialist_answers_what_colour_of_their_item_they_ordered(
    shop: Shop, use_model: Any, chat: Any
) -> None:
    # given alice's socks are in her pending order (2) and her delivered one (1)
    use_model("order", registry.specialist_for("order").local_behaviour)
    conversation = Conversation.objects.create(customer=shop.alice)
    # when
    reply, spans = chat(conversation, "what colour were the socks i bought? cant remember")
    # then both lines are named with their variant, from the one listing
    placed = {o.number: day(o.placed_at.date().isoformat()) for o in (shop.alice_pending, shop.alice_delivered)}
    assert [s.name for s in spans] == ["list_orders"]
    assert reply == (
        "You ordered these:\n\n"
        f"- 2 x the Merino Socks in **M**: order TW-200001, placed {placed['TW-200001']}, pending\n"
        f"- the Merino Socks in **M**: order TW-200002, placed {placed['TW-200002']}, delivered"
    )


def test_a_swap_for_another_size_is_not_read_as_a_question_about_the_size_ordered(
    shop: Shop, use_model: Any, chat: Any
) -> None:
    # given alice's delivered hoodie
    use_model("returns", registry.specialist_for("returns").local_behaviour)
    conversation = Conversation.objects.create(customer=shop.alice)
    # when
    reply, _ = chat(conversation, "can i swap the hoodie for a large?")
    # then the returns flow runs as before: no answer about the size she ordered
    assert not reply.startswith("You ordered")
