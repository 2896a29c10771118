"""The help center's answers: which sources a reply lists, and when a question asks for a whole page."""

from __future__ import annotations

from apps.agents.specialists.help_center import cited_sources
from apps.agents.specialists.help_center_local import _best_search, focused_queries, whole_page_asked

CITATIONS = [
    {"id": 1, "title": "Refunds", "section": "Refunds > Timing", "chunk_id": 11},
    {"id": 2, "title": "Return policy", "section": "Return policy", "chunk_id": 12},
    {"id": 3, "title": "Final-sale items", "section": "Final-sale items", "chunk_id": 13},
]


def test_a_reply_lists_the_sources_it_cites_and_the_numbers_leave_its_text():
    # given a reply citing excerpt 2 twice
    text = "You can return most items within 30 days of delivery. [2] The fee is $5.95 [2].\n\nAnything else?"

    # when
    shown, sources = cited_sources(text, CITATIONS)

    # then
    assert shown == "You can return most items within 30 days of delivery. The fee is $5.95.\n\nAnything else?"
    assert sources == [CITATIONS[1]]


def test_a_reply_citing_nothing_keeps_its_text_and_every_source():
    # given a reply with a bracketed number that is no excerpt of this turn
    text = "Your order ships in [7] days."

    # when
    shown, sources = cited_sources(text, CITATIONS)

    # then
    assert shown == text
    assert sources == CITATIONS


def _excerpt(number: int, title: str, section: str, text: str) -> dict:
    return {"id": number, "title": title, "section": section, "chunk_id": 100 + number, "text": text}


def test_a_question_naming_only_a_pages_topic_asks_for_the_whole_page():
    # given the excerpts a search returned
    opening = _excerpt(2, "Return policy", "Return policy", "You can return most items within 30 days of delivery.")
    refunds = _excerpt(1, "Refunds", "Refunds > Timing", "Refunds reach your card within 5 business days.")

    # then: "what is your return policy?" is the page; a question about one fact of it is not
    assert whole_page_asked("what is your return policy?", [refunds, opening]) == opening
    assert whole_page_asked("Return policy", [refunds, opening]) == opening
    assert whole_page_asked("how long do refunds take to reach my card?", [refunds, opening]) is None
    assert whole_page_asked("what is your return policy?", []) is None


def test_a_long_question_is_searched_again_clause_by_clause_and_a_short_one_is_not():
    # given a message of several clauses, and questions of one
    long = "my brother lives in france, can i send him a gift and will he pay import tax on it?"

    # when / then: each clause that names something of its own, at most three
    expected = ["my brother lives in france", "can i send him a gift", "will he pay import tax on it"]
    assert focused_queries(long) == expected
    assert focused_queries("do you have a store in lisbon?") == []
    assert focused_queries("i bought a kettle from you, is there a warranty on it?") == []


def test_the_clause_search_whose_excerpt_is_most_similar_answers_when_the_whole_found_nothing():
    # given a first search with nothing relevant and two clause searches
    nothing = {"excerpts": []}
    weak = {"excerpts": [{"id": 1, "similarity": 0.51}]}
    strong = {"excerpts": [{"id": 1, "similarity": 0.62}, {"id": 2, "similarity": 0.4}]}

    # when / then
    assert _best_search([nothing, weak, strong]) is strong
    assert _best_search([nothing, {"excerpts": []}]) is nothing
    assert _best_search([weak, strong]) is weak
