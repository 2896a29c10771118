import pytest

from apps.agents.understanding.planner import Step, plan_message, refers_back, split_pieces

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        (
            "Where is TW-100003, and can you email me the invoice for TW-100004?",
            ["Where is TW-100003", "can you email me the invoice for TW-100004?"],
        ),
        ("I want to return the hoodie and the socks", ["I want to return the hoodie and the socks"]),
        ("cancel TW-100001 and refund TW-100004", ["cancel TW-100001", "refund TW-100004"]),
        ("Hi! Where is my order? Thanks", ["Hi!", "Where is my order?", "Thanks"]),
        ("", []),
    ],
)
def test_split_pieces_cuts_at_new_requests_not_at_noun_lists(text, pieces):
    assert split_pieces(text) == pieces


def test_two_requests_are_two_steps_each_with_route_intent_and_order():
    # when
    plan = plan_message("Where is TW-100003, and can you email me the invoice for TW-100004?")
    # then
    assert plan.is_multi
    assert [(s.route, s.intent, s.order_numbers) for s in plan.steps] == [
        ("order", "track", ("TW-100003",)),
        ("billing", "send_invoice", ("TW-100004",)),
    ]
    assert [s.is_write for s in plan.steps] == [False, True]
    assert [s["orders"] for s in plan.describe()] == [["TW-100003"], ["TW-100004"]]


def test_two_writes_in_one_message_are_both_planned_as_writes():
    plan = plan_message("please cancel TW-100001 and change the address on TW-100002 to 9 Ocean Drive, Miami")
    assert [(s.route, s.intent, s.order_numbers) for s in plan.writes] == [
        ("order", "cancel", ("TW-100001",)),
        ("order", "change_address", ("TW-100002",)),
    ]


def test_greetings_and_thanks_join_the_request():
    # when
    plan = plan_message("Hi there! Where is my order? Thanks so much")
    # then
    assert [(s.route, s.intent) for s in plan.steps] == [("order", "track")]
    assert plan.steps[0].text == "Hi there! Where is my order? Thanks so much"
    assert not plan.is_multi


def test_one_request_about_two_items_is_one_step():
    plan = plan_message("I want to return the hoodie and the socks from TW-100004")
    assert [(s.route, s.intent, s.order_numbers) for s in plan.steps] == [("returns", "start_return", ("TW-100004",))]


def test_a_route_function_can_be_injected():
    # given a router that finds no request anywhere
    plan = plan_message("foo. bar.", route=lambda pieces: [("out_of_scope", 0.2) for _ in pieces])
    # then the whole message is one step
    assert [(s.route, s.intent, s.text) for s in plan.steps] == [("out_of_scope", None, "foo. bar.")]


def test_a_policy_question_and_a_request_about_an_order_are_two_steps():
    # when: both pieces are for returns, one about the shop's policy, one naming an order
    plan = plan_message("what is your return policy, and can i return the tote from TW-100006?")
    # then
    assert [s.route for s in plan.steps] == ["returns", "returns"]
    assert plan.steps[0].intent == "return_policy"
    assert plan.steps[1].order_numbers == ("TW-100006",)


def test_a_policy_question_with_a_piece_asking_nothing_of_its_own_stays_one_step():
    plan = plan_message("Hi! What is your return policy? Thanks")
    assert [(s.route, s.intent) for s in plan.steps] == [("returns", "return_policy")]


def test_what_is_wrong_with_an_item_joins_the_return_beside_it():
    plan = plan_message("i want to return the lamp from TW-100008. the base is cracked")
    assert [(s.route, s.order_numbers) for s in plan.steps] == [("returns", ("TW-100008",))]


def test_a_write_pointing_back_at_what_the_piece_before_named_is_one_request():
    # given an invoice asked for, then "email it" in the next sentence
    plan = plan_message("I need the invoice for my tent for an insurance claim. Can you email it to me please?")
    # then one step: the copy by email of that invoice
    assert [(s.route, s.intent) for s in plan.steps] == [("billing", "send_invoice")]
    assert not plan.is_multi


def test_a_second_request_about_its_own_order_stays_a_second_step():
    plan = plan_message("show me the invoice for TW-100015. and can you email me the one for TW-100010?")
    assert [s.order_numbers for s in plan.steps] == [("TW-100015",), ("TW-100010",)]


def test_a_modal_and_its_pronoun_alone_start_the_next_request():
    # "can u also give me...": "also" is not a cut between "can u" and what it asks
    assert split_pieces("where are my trail runners and can u also give me the invoice for the hoodie order") == [
        "where are my trail runners",
        "can u give me the invoice for the hoodie order",
    ]
    assert split_pieces("cancel the blanket order, could you please also send me the receipt") == [
        "cancel the blanket order",
        "could you please send me the receipt",
    ]


@pytest.mark.parametrize(
    "text",
    ["do you ship to australia and how long does it take", "do you ship to canada and is it free over 50 dollars?"],
)
def test_a_question_pointing_back_at_a_shop_question_is_the_same_help_center_question(text):
    # given a question about the shop, then one that asks more of it ("it") with no order of its own

    # when it is planned
    plan = plan_message(text)

    # then it is one help-center step
    assert [s.route for s in plan.steps] == ["faq"]


def test_a_write_after_a_shop_question_is_still_its_own_step():
    # given a shop question and then a request to cancel an order that points back with "that"
    plan = plan_message("what are your opening hours, and can you cancel that order TW-100001")

    # then the cancellation is a step of its own
    assert len(plan.steps) == 2
    assert plan.steps[1].route == "order"


def test_a_step_pointing_back_with_nothing_of_its_own_refers_to_the_step_before():
    # given a question about an item, then a request about "it" with an address
    plan = plan_message(
        "my rain jacket hasnt shipped yet right? can you send it to my new place, 9 Ocean Drive, Miami, FL 33139"
    )
    first, second = plan.steps
    # then the second step reads the first (its specialist finds the order there)
    assert (second.route, second.intent) == ("order", "change_address")
    assert refers_back(first, second)


def test_a_step_naming_its_own_order_or_item_does_not_refer_back():
    before = Step("where is my rain jacket?", "order", 0.99, "track", 0.9)
    # its own order number, its own product, or no pointing word: not a reference to the step before
    assert not refers_back(before, Step("and cancel TW-100007 too", "order", 0.99, "cancel", 0.9, ("TW-100007",)))
    assert not refers_back(before, Step("can you cancel it, the blanket order", "order", 0.99, "cancel", 0.9))
    assert not refers_back(before, Step("can you cancel my order", "order", 0.99, "cancel", 0.9))
    # "it" and nothing of its own: it is
    assert refers_back(before, Step("can you cancel it", "order", 0.99, "cancel", 0.9))


def test_a_piece_that_only_points_at_an_order_says_which_order_the_request_before_means():
    plan = plan_message("please cancel the order i placed yesterday, the one w the 3 candles and the lamp")
    assert [(s.route, s.intent) for s in plan.steps] == [("order", "cancel")]
    assert not plan.is_multi


@pytest.mark.parametrize(
    "text",
    [
        "WHERE IS THE REFUND FOR MY LAMP. ITS BEEN TWO WEEKS",
        "what's happening with my refund for the tote. i sent it last month",
    ],
)
def test_a_statement_no_route_is_sure_of_is_context_of_the_piece_before(text):
    plan = plan_message(text)
    assert [s.route for s in plan.steps] == ["returns"]
    assert not plan.is_multi
