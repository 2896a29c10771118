import pytest

from apps.agents.understanding.confirmation import (
    Confirmation,
    classify_confirmation,
    confirm_pending,
    read_confirmation,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "text",
    ["ok yes", "sure go ahead", "yes", "Yes please", "yep, do it", "👍", "ya", "yes, cancel it", "go ahead 👍"],
)
def test_plain_and_sentence_form_yes_confirm(text):
    assert classify_confirmation(text) is Confirmation.YES


@pytest.mark.parametrize(
    "text",
    ["no, wait, keep it", "actually don't", "no", "nope", "👎", "never mind", "no thanks, leave it", "dont do that"],
)
def test_plain_and_sentence_form_no_decline(text):
    assert classify_confirmation(text) is Confirmation.NO


@pytest.mark.parametrize(
    "text",
    ["what would that cost?", "which order is that?", "maybe", "", "   ", "can i talk to a person"],
)
def test_questions_and_hesitation_are_unclear(text):
    assert classify_confirmation(text) is Confirmation.UNCLEAR


@pytest.mark.parametrize("text", ["yes but only the hoodie", "ok, except the socks", "sure, but send it to my office"])
def test_a_yes_with_a_condition_is_never_a_yes(text):
    # when
    reading = read_confirmation(text)
    # then
    assert reading.value is Confirmation.UNCLEAR


def test_reading_says_why():
    reading = read_confirmation("ok yes")
    assert reading.value is Confirmation.YES
    assert reading.reason.startswith("classifier: yes p=")
    assert 0.9 <= reading.confidence <= 1.0


def test_a_yes_naming_another_actions_verb_does_not_confirm_this_one():
    # given a pending cancellation
    own, other = ("cancel",), ("cancel", "change", "update", "send", "email")
    # then
    assert confirm_pending("yes, cancel it", own_verbs=own, other_verbs=other) is Confirmation.YES
    assert confirm_pending("yes, change the address", own_verbs=own, other_verbs=other) is Confirmation.UNCLEAR
    assert confirm_pending("no, wait, keep it", own_verbs=own, other_verbs=other) is Confirmation.NO


@pytest.mark.parametrize(
    ("text", "own", "expected"),
    [
        ("no, yes", ("cancel",), Confirmation.UNCLEAR),
        ("yes, cancel it and refund me", ("cancel",), Confirmation.UNCLEAR),
        ("sure go ahead", ("cancel",), Confirmation.YES),
        ("yes please send it", ("send", "email"), Confirmation.YES),
        ("actually don't", ("cancel",), Confirmation.NO),
        ("ok thanks. one more thing, whats the tracking number for my tent", (), Confirmation.UNCLEAR),
        ("ok great, where is my other parcel?", (), Confirmation.UNCLEAR),
    ],
)
def test_confirm_pending_is_unclear_for_mixed_answers_and_added_requests(text, own, expected):
    assert confirm_pending(text, own_verbs=own) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nah dont bother, i'll just download it myself", Confirmation.NO),
        ("no, actually i'll keep it", Confirmation.NO),
        ("no, I want to talk to a person", Confirmation.UNCLEAR),
        ("no, change the address instead", Confirmation.UNCLEAR),
    ],
)
def test_an_answer_opening_with_no_declines_unless_it_asks_for_something_else(text, expected):
    assert confirm_pending(text, own_verbs=("send",)) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no. where are my trail runners instead?", "where are my trail runners instead?"),
        ("no, cancel the other one", "cancel the other one"),
        ("hmm no dont change it, i'll be home after all", ""),
        ("no, wait, keep it", ""),
        ("no thanks", ""),
        ("yes. where is my order?", ""),
    ],
)
def test_a_request_after_a_decline_is_kept(text, expected):
    from apps.agents.confirmation import request_after_decline

    assert request_after_decline(text) == expected


@pytest.mark.parametrize(("text", "expected"), [("both please", "yes"), ("yes to both", "yes"), ("no", "no")])
def test_several_actions_held_together_take_one_answer(text, expected):
    from apps.agents.confirmation import classify_confirmation as classify_held

    assert classify_held(text, verbs=("cancel", "change"), together=True).value == expected
