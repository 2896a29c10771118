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
    assert turn.deferred == ()
    assert turn.deferred_note() == ""


def test_of_two_writes_only_the_first_runs_and_the_second_is_named():
    # when
    turn = plan_for_turn("please cancel TW-100001 and change the address on TW-100002 to 9 Ocean Drive, Miami")
    # then
    assert [(s.intent, s.order_numbers) for s in turn.run] == [("cancel", ("TW-100001",))]
    assert [(s.intent, s.order_numbers) for s in turn.deferred] == [("change_address", ("TW-100002",))]
    assert turn.deferred_note() == (
        "Changes need your confirmation one at a time, so I've started with the first one. Once it's settled, "
        'send me the next one again: "change the address on TW-100002 to 9 Ocean Drive, Miami".'
    )


def test_a_request_for_a_person_is_not_planned():
    # the router sends the whole message to a person, whatever else it asks
    assert plan_for_turn("where is my order? and i want to talk to a real person") is None
