from typing import Any

import pytest

from apps.agents.routing.order_refs import canonical_order_references, customer_order_numbers, resolve_order_lookalikes
from tests.commerce.factories import make_order

OWN = ["TW-100003", "TW-100011"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("where is TW-1OOOO3", "where is TW-100003"),
        ("where is tw 1OOO11??", "where is TW-100011??"),
        ("can you check on 100003 for me", "can you check on TW-100003 for me"),
        ("my order lOOOO3 hasn't come", "my order TW-100003 hasn't come"),
        ("where is TW-100003", "where is TW-100003"),  # already canonical: untouched
        ("where is TW-1OOOO4", "where is TW-1OOOO4"),  # not one of theirs: left as typed
        ("my zip is 100004", "my zip is 100004"),
        ("the OOOOOO one", "the OOOOOO one"),  # no digit at all: not a number
    ],
)
def test_look_alike_order_numbers_are_read_only_when_they_are_the_customers(text, expected):
    assert canonical_order_references(text, OWN) == expected


def test_without_orders_nothing_is_rewritten():
    assert canonical_order_references("where is TW-1OOOO3", []) == "where is TW-1OOOO3"


def test_the_customers_own_orders_resolve_a_look_alike(conversation: Any, customer: Any) -> None:
    # given the customer's order and another customer's
    mine = make_order(customer=customer, number="TW-100003")
    make_order(number="TW-100004")

    # then only the customer's own number is read from a look-alike
    assert customer_order_numbers(conversation) == [mine.number]
    assert resolve_order_lookalikes("where is TW-1OOOO3", conversation) == "where is TW-100003"
    assert resolve_order_lookalikes("where is TW-1OOOO4", conversation) == "where is TW-1OOOO4"


def test_a_verified_guest_may_name_only_the_verified_order(db: Any) -> None:
    from apps.conversations.models import Conversation

    # given a guest conversation verified for one order
    order = make_order(number="TW-100021")
    conversation = Conversation.objects.create(verified_order=order)

    # then
    assert customer_order_numbers(conversation) == ["TW-100021"]
    assert resolve_order_lookalikes("status of 1OOO21 please", conversation) == "status of TW-100021 please"
