"""Quick replies and order cards on assistant replies (message.data, docs/chat-protocol.md)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.commerce.models import OrderItem
from apps.conversations import services
from apps.conversations.quick_replies import reply_data
from tests.commerce.factories import make_variant
from tests.conversations.conftest import make_customer, make_order

pytestmark = pytest.mark.django_db


def _item(order, name: str, variant: str = "") -> None:
    v = make_variant(name=name)
    OrderItem.objects.create(
        order=order, variant=v, product_name=name, variant_name=variant, sku=v.sku, quantity=1, unit_price=v.price
    )


def test_a_reply_waiting_for_a_yes_offers_yes_and_no():
    conversation = services.conversation_start(customer=make_customer())
    data = reply_data(conversation=conversation, text="Shall I cancel order TW-1?", awaiting_confirmation=True)
    assert data == {
        "quick_replies": [
            {"label": "Yes, go ahead", "text": "Yes", "kind": "confirm"},
            {"label": "No, don't", "text": "No", "kind": "decline"},
        ]
    }


def test_a_reply_naming_several_of_the_customers_orders_offers_a_card_for_each():
    # given a customer with three orders, and someone else's order
    customer = make_customer()
    older = make_order(customer=customer, number="TW-70001")
    older.placed_at = timezone.now() - dt.timedelta(days=10)
    older.save()
    newer = make_order(customer=customer, number="TW-70002")
    make_order(customer=customer, number="TW-70003")
    make_order(customer=make_customer(), number="TW-79999")
    _item(older, "Stoneware mug", "Blue")
    _item(older, "Teapot")
    _item(newer, "Linen apron")
    conversation = services.conversation_start(customer=customer)
    # when the reply lists two of them (and mentions another customer's number)
    text = "Which order do you mean?\n- TW-70002 (pending)\n- TW-70001 (pending)\n- TW-79999"
    data = reply_data(conversation=conversation, text=text, awaiting_confirmation=False)
    # then there is one card per own order named, in the reply's order, built from the order itself
    assert data == {
        "order_cards": [
            {
                "number": "TW-70002",
                "items": "Linen apron",
                "placed_on": newer.placed_at.date().isoformat(),
                "status": "pending",
                "status_label": "Pending",
                "text": "Order TW-70002",
            },
            {
                "number": "TW-70001",
                "items": "Stoneware mug (Blue) and 1 more item",
                "placed_on": older.placed_at.date().isoformat(),
                "status": "pending",
                "status_label": "Pending",
                "text": "Order TW-70001",
            },
        ]
    }


def test_a_reply_naming_one_order_or_a_guest_conversation_gets_no_cards():
    customer = make_customer()
    make_order(customer=customer, number="TW-70011")
    make_order(customer=customer, number="TW-70012")
    conversation = services.conversation_start(customer=customer)
    assert reply_data(conversation=conversation, text="TW-70011 is shipped.", awaiting_confirmation=False) == {}
    guest = services.conversation_start(session_key="s")
    assert reply_data(conversation=guest, text="TW-70011 or TW-70012?", awaiting_confirmation=False) == {}


def test_the_runtime_offers_cards_then_yes_no_buttons_for_a_cancellation():
    from apps.agents.models import PendingAction
    from apps.agents.turns import turn_run

    # given a signed-in customer with two pending orders asking to cancel "my order"
    customer = make_customer()
    make_order(customer=customer, number="TW-710001")
    make_order(customer=customer, number="TW-710002")
    conversation = services.conversation_start(customer=customer)

    def say(text: str, client_id: str):
        message, _ = services.message_accept_customer(conversation=conversation, text=text, client_message_id=client_id)
        return turn_run(message_id=message.pk)

    # when the assistant answers
    first = say("I want to cancel my order", "c1")
    # then it offers both orders as cards
    assert [c["number"] for c in first.data.get("order_cards", [])] == ["TW-710002", "TW-710001"], first.text
    # when the customer picks one, the reply waits for their yes with yes/no buttons
    second = say("Order TW-710002", "c2")
    assert PendingAction.objects.filter(conversation=conversation, status="pending").count() == 1, second.text
    assert [q["text"] for q in second.data.get("quick_replies", [])] == ["Yes", "No"], second.text
    assert "order_cards" not in second.data
