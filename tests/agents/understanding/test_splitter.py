"""The learned request splitter (apps.agents.understanding.splitter) and what the planner and a pending answer do
with its pieces."""

import pytest

from apps.agents.confirmation import answer_and_request
from apps.agents.understanding.planner import learned_pieces, split_pieces
from apps.agents.understanding.splitter import candidates, split_at

pytestmark = pytest.mark.slow


def test_candidates_are_places_by_form_never_right_after_a_conjunction():
    # given a message with a sentence end, a conjunction and a clause opener
    text = "yes. and where are my runners"
    # when its candidate places are listed
    points = candidates(text)
    # then the place before "and" is one, the place after it is not
    assert 1 in points
    assert 2 not in points


def test_split_at_keeps_the_text_of_each_piece():
    assert split_at("cancel it, and where is TW-100003?", [2]) == ["cancel it,", "and where is TW-100003?"]


@pytest.mark.parametrize(
    "text",
    [
        "i paid extra for express on the earbuds why havent they shipped",
        "i paid extra for express on the earbuds, why havent they shipped",
        "can i return the hoodie and the socks from TW-100004",
    ],
)
def test_one_request_without_a_cue_is_not_cut(text):
    assert learned_pieces(text) == [text]


def test_a_second_request_after_a_cue_the_regex_has_no_word_for_is_cut():
    # given two requests joined by "and" before a word the regex does not know ("whats")
    text = "cancel the blanket one and whats holding up the french press refund, which card did it go to"
    # when the planner cuts it
    pieces = split_pieces(text)
    # then there are two pieces, the second with its own follow-up question
    assert pieces == ["cancel the blanket one", "whats holding up the french press refund, which card did it go to"]


def test_an_answer_then_a_new_request_is_cut_after_the_answer():
    text = "yes. and where are my trail runners at?"
    assert answer_and_request(text, split_pieces(text)) == ("yes.", "where are my trail runners at?")


@pytest.mark.parametrize("text", ["yes but only the hoodie", "yes, except the socks", "yes please"])
def test_a_condition_on_the_answer_or_the_answer_alone_is_no_new_request(text):
    assert answer_and_request(text, split_pieces(text)) == ("", "")
