"""Numbers written in words (`understanding.numbers`) and the amounts read from them (`understanding.amounts`)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from apps.agents.understanding.amounts import (
    amount_bounds,
    amount_fits,
    amounts_hedged,
    amounts_in,
    amounts_pointed_at,
)
from apps.agents.understanding.numbers import spelled_numbers
from apps.agents.understanding.references import ItemFacts, OrderFacts, ResolutionKind, resolve_order


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("the seven hundred dollar order", "the 700 dollar order"),
        ("about a hundred and seventy five bucks", "about 175 bucks"),
        ("the one hundred and two dollar order", "the 102 dollar order"),
        ("forty-eight dollars", "48 dollars"),
        ("seventy one dollars and twenty eight cents", "$71.28"),
        ("one hundred forty five dollars and eighty cents", "$145.80"),
        ("the size nine shoes", "the size 9 shoes"),
        ("a thousand bucks", "1000 bucks"),
    ],
)
def test_cardinal_numbers_in_words_are_read_as_digits(text, read):
    assert spelled_numbers(text) == read


@pytest.mark.parametrize("text", ["the black one", "a hoodie", "twenty thirty", "the second order", "one of them"])
def test_words_that_are_no_single_number_stay_words(text):
    assert spelled_numbers(text) == text


def test_one_before_a_currency_word_is_a_number():
    assert spelled_numbers("it was one dollar") == "it was 1 dollar"


def test_amounts_in_words_and_whether_they_are_approximate():
    assert amounts_in("whats happening with the seven hundred dollar order") == [Decimal("700")]
    assert amounts_in("a charge of seventy dollars and twenty cents") == [Decimal("70.20")]
    assert amounts_hedged("the one that was about a hundred and twenty bucks") == [(Decimal("120"), True)]
    assert amounts_hedged("it was 120 bucks or so") == [(Decimal("120"), True)]
    assert amounts_hedged("the $120 one") == [(Decimal("120"), False)]
    assert amount_bounds("my order under fifty bucks") == [(Decimal("50"), False)]


NOW = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)


def _order(number: str, total: str) -> OrderFacts:
    item = ItemFacts(product="Stoneware Mug", variant="Ink", category="home", unit_price=Decimal("1"))
    return OrderFacts(number, "delivered", NOW, (item,), Decimal(total))


def test_an_approximate_amount_fits_within_ten_percent_only_when_said_so():
    # given an order of 129.60
    blanket = _order("TW-400001", "129.60")
    # then "about 120" fits it, a plain 120 does not
    assert amount_fits(blanket, Decimal("120"), hedged=True)
    assert not amount_fits(blanket, Decimal("120"), roughly=True)


def test_an_amount_in_words_names_the_order_with_that_total():
    # given two orders
    orders = [_order("TW-400002", "48.11"), _order("TW-400003", "700.92")]
    # when
    resolution = resolve_order("can you check on the forty eight dollar one for me", orders, now=NOW)
    # then
    assert resolution.kind is ResolutionKind.UNIQUE
    assert resolution.numbers == ["TW-400002"]
    assert resolution.cues == ("amount: 48",)


def test_the_amount_a_message_points_at_after_naming_several():
    # given two figures, then "the 129.6 one" (one decimal: the "the ... one" makes it an amount)
    text = "i see $71.28 and $129.6 on my visa, and the 129.6 one says declined?? what happened"
    # when / then
    assert amounts_pointed_at(text) == [Decimal("129.6")]
    assert amounts_pointed_at("that $71.28 charge, what is it") == [Decimal("71.28")]
    assert amounts_pointed_at("i paid 71.28 and 129.60 yesterday") == []
