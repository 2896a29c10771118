from types import SimpleNamespace

import pytest

from apps.agents.routes import OUT_OF_SCOPE
from apps.agents.routing.classifier import Prediction
from apps.agents.routing.customer_items import about_their_orders, named_customer_item
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


def _verdict(route: str, probabilities: dict[str, float]) -> Prediction:
    return Prediction(route, probabilities[route], probabilities, similarity=0.6, reason=f"classifier: {route}")


@pytest.mark.django_db
def test_an_unsure_general_question_naming_the_customers_own_item_goes_to_their_orders():
    # given carmen, whose puffer vest is on its way, and bob, who bought none
    carmen, bob = make_customer(), make_customer()
    vest = make_variant(price="120.00", name="Puffer Vest")
    order = make_order(customer=carmen, status=OrderStatus.SHIPPED, items=[(vest, 1)])
    make_order(customer=bob, status=OrderStatus.SHIPPED)
    theirs = SimpleNamespace(customer=carmen, current_route=None, verified_order=None)
    not_theirs = SimpleNamespace(customer=bob, current_route=None, verified_order=None)
    unsure = _verdict("faq", {"faq": 0.7, "order": 0.25, "returns": 0.03, "billing": 0.01, "human": 0.01})
    sure = _verdict("faq", {"faq": 0.9, "order": 0.08, "returns": 0.01, "billing": 0.005, "human": 0.005})
    care = _verdict("faq", {"faq": 0.65, "returns": 0.13, "order": 0.1, "billing": 0.06, "human": 0.06})
    text = "can you deliver the puffer vest to my partner's place instead?"

    # when the verdicts are settled against each customer's orders
    moved, _ = about_their_orders(text, theirs, unsure, unsure)
    kept, _ = about_their_orders(text, not_theirs, unsure, unsure)
    clear, _ = about_their_orders(text, theirs, sure, sure)
    by_number, _ = about_their_orders(f"can {order.number} go to my office?", theirs, unsure, unsure)
    how_to, _ = about_their_orders("i bought the puffer vest, how do i wash it?", theirs, care, care)

    # then only the unsure verdict naming their own vest (or order number) with the order route in sight goes to
    # the order specialist; a care question about the vest stays with the help center
    assert (moved.route, moved.confidence) == ("order", 0.25)
    assert moved.reason == "classifier: order p=0.25 (names their Puffer Vest)"
    assert (kept.route, clear.route, how_to.route) == ("faq", "faq", "faq")
    assert by_number.reason == f"classifier: order p=0.25 (names their {order.number})"
