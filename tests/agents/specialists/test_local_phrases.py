import pytest

from apps.agents.specialists.local_phrases import is_angry


@pytest.mark.parametrize(
    "text",
    [
        "WHERE DO I CHANGE MY PASSWORD IM ALREADY LOGGED IN",
        "HOW DO I UPDATE THE CARD ON MY ACCOUNT PLEASE",
        "WHERE IS MY ORDER TW-100003",
    ],
)
def test_capitals_alone_are_no_anger(text):
    # given a question written in capitals, with no word of anger

    # when it is read
    angry = is_angry(text)

    # then it is a question to answer, not a customer to hand to a person
    assert angry is False


@pytest.mark.parametrize(
    "text",
    ["This is ridiculous, my order is STILL not here", "I AM FED UP WITH WAITING FOR MY REFUND", "worst service ever"],
)
def test_words_of_anger_are_anger_in_any_case(text):
    assert is_angry(text) is True
