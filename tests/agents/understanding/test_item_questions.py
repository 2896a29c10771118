from datetime import UTC, datetime, timedelta

import pytest

from apps.agents.understanding.item_questions import asks_own_attribute, items_asked_about
from apps.agents.understanding.order_facts import ItemFacts, OrderFacts

pytestmark = pytest.mark.slow  # loads the embedding model (once per process)

_NOW = datetime(2026, 12, 1, tzinfo=UTC)
_RUNNERS = OrderFacts("TW-1", "shipped", _NOW - timedelta(days=3), (ItemFacts("Trail Runners", "US 8", "shoes"),))
_DECK = OrderFacts("TW-2", "delivered", _NOW - timedelta(days=60), (ItemFacts("Deck Shoes", "US 9", "shoes"),))


def test_the_item_asked_about_is_the_one_its_name_fits_best_not_the_size_the_customer_guesses():
    # when: she names the runners and a size only the deck shoes have
    asked = items_asked_about("what size did i order the trail runners in? pretty sure i got a 9", [_RUNNERS, _DECK])
    # then the runners, not the US 9 deck shoes
    assert [(o.number, i.product) for o, i in asked] == [("TW-1", "Trail Runners")]


def test_an_item_bought_in_two_orders_is_named_in_both_newest_first():
    # given socks in an old order and a new one
    old = OrderFacts("TW-3", "delivered", _NOW - timedelta(days=40), (ItemFacts("Merino Socks", "L/XL", "apparel"),))
    new = OrderFacts("TW-4", "pending", _NOW, (ItemFacts("Merino Socks", "S/M", "apparel"),))
    # when
    asked = items_asked_about("which size socks did i go for", [old, _RUNNERS, new])
    # then both lines, the newest order first
    assert [(o.number, i.variant) for o, i in asked] == [("TW-4", "S/M"), ("TW-3", "L/XL")]


def test_nothing_of_theirs_named_is_no_item():
    assert items_asked_about("what colour did i pick for the teapot", [_RUNNERS, _DECK]) == []


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("what size did i get the hoodie in", True),
        ("what colour did i choose for the apron? cant remember", True),
        ("can i exchange the hoodie for a large", False),
        ("does the bottle come in other colours", False),
        ("where is my order", False),
    ],
)
def test_whether_a_message_asks_which_variant_they_ordered(text, asks):
    assert asks_own_attribute(text) is asks


def test_an_answer_that_only_points_at_their_item_asks_nothing():
    # "the blanket one", answering "which order would you like to cancel?"
    blanket = ItemFacts("Wool Throw Blanket", "Grey Check", "home")
    assert asks_own_attribute("the blanket one", [blanket]) is False
    assert asks_own_attribute("what colour was the blanket i ordered", [blanket]) is True
