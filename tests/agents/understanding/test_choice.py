"""What the order and returns specialists say when the customer's description of an order fits nothing of theirs."""

from apps.agents.understanding.choice import OrderChoice, fits_nothing, not_bought_lead, unmet_lead
from apps.agents.understanding.references import Resolution, ResolutionKind


def test_an_amount_that_fits_no_order_is_said_to_fit_none():
    # given a resolution that found no order near $40
    choice = OrderChoice(ResolutionKind.NONE, Resolution(ResolutionKind.NONE, cues=("amount: 40: not in any order",)))
    # when
    lead = not_bought_lead(choice, "fallback")
    # then
    assert lead == "None of your recent orders comes to about $40. Which order do you mean?"


def test_the_last_order_without_the_item_named_is_said_so():
    # given the jacket is not in the last order
    resolution = Resolution(ResolutionKind.AMBIGUOUS, unmet=(("latest: TW-100001", "jacket"),))
    # when / then
    assert unmet_lead(resolution) == "Your last order, TW-100001, has no jacket in it."
    assert unmet_lead(Resolution(ResolutionKind.UNIQUE)) == ""


def test_each_kind_of_cue_that_fits_nothing_is_one_sentence():
    assert fits_nothing("amount: 71.28", "mug") == "None of your recent orders with a mug comes to $71.28."
    assert fits_nothing("date: yesterday", "") == "None of your recent orders is from yesterday."
    assert fits_nothing("state: not shipped yet", "") == "Every one of your recent orders has shipped."
    assert fits_nothing("state: payment failed", "") == "None of your recent orders has a failed payment."
    paid = "None of your recent orders with a hoodie was paid with paypal."
    assert fits_nothing("paid with: paypal", "hoodie") == paid
    assert fits_nothing("latest: TW-1", "") == ""


def test_every_order_that_fits_is_meant_only_when_the_customer_asks_for_all_of_them():
    from apps.agents.understanding.choice import every_one_meant

    # given a question listing the two pending orders a cancel fits
    rows = ({"number": "TW-1"}, {"number": "TW-2"})
    choice = OrderChoice(ResolutionKind.AMBIGUOUS, Resolution(ResolutionKind.AMBIGUOUS), candidates=rows)
    # when / then
    assert every_one_meant("yes both", choice) == ("TW-1", "TW-2")
    assert every_one_meant("cancel the 2 orders that are still pending", choice) == ("TW-1", "TW-2")
    assert every_one_meant("cancel all my pending orders", choice) == ("TW-1", "TW-2")
    assert every_one_meant("cancel the three orders", choice) == ()  # a count that is not theirs asks again
    assert every_one_meant("cancel my order, that's all", choice) == ()
    listed_all = OrderChoice(ResolutionKind.AMBIGUOUS, Resolution(ResolutionKind.NONE), candidates=rows, fitting=False)
    assert every_one_meant("both", listed_all) == ()  # the orders listed were every order, none fitting
