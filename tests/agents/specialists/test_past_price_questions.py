"""A price asked in the past about a product ("how much was each pack of socks?") is about the customer's own order,
read from it with the price of one of several (`local_rules._general_question`, billing `_charge_line`)."""

import pytest

from apps.agents.specialists.billing.local import _charge_line
from apps.agents.specialists.local_common import Turn
from apps.agents.specialists.local_rules import _general_question

pytestmark = pytest.mark.slow


def _turn(text: str, *, signed_in: bool = True) -> Turn:
    return Turn(
        text=text,
        earlier=[],
        last_reply="",
        replies=[],
        outcomes=[],
        called=[],
        tools={"search_knowledge"},
        signed_in=signed_in,
    )


def test_a_price_asked_in_the_past_about_a_product_is_about_the_customers_order():
    # given a signed-in customer asking what an item they bought cost
    turn = _turn("how much was each pack of socks before tax? need it for a gift receipt thing")
    # when / then
    assert _general_question(turn, "billing") is False


def test_a_price_question_about_the_shop_stays_general():
    # given the price asked in the present (the shop's price), and asked in the past by nobody signed in
    # when / then
    assert _general_question(_turn("how much is a pack of socks before tax?"), "billing") is True
    assert _general_question(_turn("how much was each pack of socks before tax?", signed_in=False), "billing") is True


def test_a_line_of_several_gives_the_price_of_one():
    # given a charges line of two sock packs, and one of a single mug
    socks = {"name": "Merino Crew Socks (L/XL)", "quantity": 2, "unit_price": "26.00", "amount": "52.00"}
    mug = {"name": "Stoneware Mug (Ink)", "quantity": 1, "unit_price": "18.00", "amount": "18.00"}
    # when / then
    assert _charge_line(socks, "USD") == "2 x Merino Crew Socks (L/XL): $52.00 ($26.00 each, before tax)"
    assert _charge_line(mug, "USD") == "1 x Stoneware Mug (Ink): $18.00"
