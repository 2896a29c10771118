import pytest

from apps.agents.understanding.turn_plan import plan_for_turn

pytestmark = pytest.mark.slow


def test_a_single_request_is_not_planned():
    assert plan_for_turn("where is my order?") is None
    assert plan_for_turn("Hi! I want to return the hoodie and the socks from TW-100004. Thanks!") is None


def test_a_read_and_a_write_both_run():
    # when
    turn = plan_for_turn("Where is TW-100003, and can you email me the invoice for TW-100004?")
    # then
    assert [(s.route, s.intent) for s in turn.run] == [("order", "track"), ("billing", "send_invoice")]
    assert turn.asks_for_person is False


def test_two_writes_both_run_to_be_confirmed_together():
    # when
    turn = plan_for_turn("please cancel TW-100001 and change the address on TW-100002 to 9 Ocean Drive, Miami")
    # then
    assert [(s.intent, s.order_numbers) for s in turn.run] == [
        ("cancel", ("TW-100001",)),
        ("change_address", ("TW-100002",)),
    ]
    assert len(turn.plan.writes) == 2


def test_a_piece_asking_for_a_person_hands_the_message_to_a_person():
    # when
    turn = plan_for_turn("where is my order? and i want to talk to a real person")
    # then
    assert turn is not None
    assert turn.asks_for_person is True
    assert turn.run == ()


def test_a_piece_asking_how_to_reach_the_shop_is_the_help_centers_step_not_a_person():
    # when
    turn = plan_for_turn("where is TW-100003? and whats your support email")
    # then: the tracking runs and the help center answers the contact question; nobody is asked for
    assert turn is not None
    assert turn.asks_for_person is False
    assert [s.route for s in turn.run] == ["order", "faq"]
