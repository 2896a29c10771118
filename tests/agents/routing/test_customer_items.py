from types import SimpleNamespace

import pytest

from apps.agents.routes import OUT_OF_SCOPE
from apps.agents.routing.customer_items import named_customer_item
from apps.agents.routing.router import route_message
from apps.commerce.models import OrderStatus
from tests.commerce.factories import make_customer, make_order, make_variant


@pytest.mark.django_db
def test_a_message_naming_the_customers_own_item_is_not_refused_as_out_of_scope():
    # given a customer waiting for a backpack, and another customer who bought none
    bob, other = make_customer(), make_customer()
    pack = make_variant(price="99.00", name="Day Pack 22L")
    make_order(customer=bob, status=OrderStatus.SHIPPED, items=[(pack, 1)])
    make_order(customer=other, status=OrderStatus.SHIPPED)
    theirs = SimpleNamespace(customer=bob, current_route=None, verified_order=None)
    not_theirs = SimpleNamespace(customer=other, current_route=None, verified_order=None)

    # when / then: the same words route to a specialist only for the customer who bought one
    assert named_customer_item("where is my backpack?", theirs) == "Day Pack 22L"
    assert named_customer_item("where is my backpack?", not_theirs) == ""
    assert named_customer_item("where are my keys?", theirs) == ""
    assert route_message("where is my backpack?", conversation=theirs, use_llm=False).route != OUT_OF_SCOPE
    assert route_message("what's the weather in paris tomorrow?", conversation=theirs, use_llm=False).route == (
        OUT_OF_SCOPE
    )


def test_a_guest_without_a_signed_in_customer_names_no_item():
    assert named_customer_item("where is my backpack?", SimpleNamespace(customer=None)) == ""
