"""The help center's answers: which sources a reply lists, when a question asks for a whole page, which excerpts
are relevant, and a message of two questions."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from apps.agents.deps import KnowledgeSearch
from apps.agents.specialists import help_center_local
from apps.agents.specialists.help_center import cited_sources, record_unanswered, relevant_chunks
from apps.agents.specialists.help_center_local import (
    _answer,
    _best_search,
    _each_question,
    asked_questions,
    behaviour_steps,
    best_sentences,
    focused_queries,
    whole_page_asked,
)
from apps.agents.specialists.help_sections import HelpSection
from apps.agents.specialists.help_sentences import fuzzy_matches, stem
from apps.agents.specialists.local_common import ToolOutcome, Turn
from apps.knowledge.models import UnansweredQuestion
from apps.knowledge.selectors import RetrievedChunk

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


def _turn(text: str) -> SimpleNamespace:
    return SimpleNamespace(text=text)


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


def _chunk(
    chunk_id: int, document_id: int, score: float, *, threshold: float = 0.5, heading: str = ""
) -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=chunk_id,
        text="text",
        score=score,
        document_id=document_id,
        document_title=f"Page {document_id}",
        source=f"https://shop.example/help/{document_id}",
        source_name="demo-kb",
        heading_path=(f"Page {document_id}", heading) if heading else (),
        answerable=score >= threshold,
        threshold=threshold,
    )


def test_the_answerable_excerpts_are_relevant_and_nothing_else_is_added_to_them():
    # given a search whose best excerpt reached the threshold
    chunks = [_chunk(1, 10, 0.61), _chunk(2, 10, 0.44), _chunk(3, 20, 0.3)]

    # when / then
    assert [c.chunk_id for c in relevant_chunks(chunks)] == [1]


def test_a_section_of_the_best_page_that_the_question_names_joins_the_answerable_ones_near_the_threshold():
    # given the contact page: Phone reached the threshold (0.5), Email and Complaints came close, Hours too low
    chunks = [
        _chunk(1, 10, 0.57, heading="Phone"),
        _chunk(2, 20, 0.52, heading="By email"),
        _chunk(3, 10, 0.42, heading="Email"),
        _chunk(4, 10, 0.41, heading="Complaints"),
        _chunk(5, 10, 0.35, heading="Email addresses"),
    ]

    # when / then: the Email section, which the question names, is in the choice; another page's is not added
    assert [c.chunk_id for c in relevant_chunks(chunks, "whats your support email")] == [1, 2, 3]
    assert [c.chunk_id for c in relevant_chunks(chunks, "do you take complaints by phone")] == [1, 2, 4]
    assert [c.chunk_id for c in relevant_chunks(chunks)] == [1, 2]


def test_a_near_miss_answers_when_its_page_holds_another_result_and_alone_it_does_not():
    # given best excerpts just under the threshold (0.5): one whose page has two results, one alone on its page
    agreeing = [_chunk(1, 10, 0.46), _chunk(2, 20, 0.3), _chunk(3, 10, 0.41), _chunk(4, 10, 0.2)]
    alone = [_chunk(1, 10, 0.46), _chunk(2, 20, 0.45), _chunk(3, 30, 0.44)]
    far = [_chunk(1, 10, 0.40), _chunk(2, 10, 0.39)]

    # when / then: the page's best excerpt and its sections not far below (0.8 of the threshold)
    assert [c.chunk_id for c in relevant_chunks(agreeing)] == [1, 3]
    assert relevant_chunks(alone) == []
    assert relevant_chunks(far) == []
    assert relevant_chunks([]) == []


def test_a_best_excerpt_clear_of_the_next_answers_alone_and_one_tied_or_too_low_does_not():
    # given best excerpts under 0.9 of the threshold (0.5), each alone on its page
    clear = [_chunk(1, 10, 0.41), _chunk(2, 20, 0.35), _chunk(3, 30, 0.3)]
    tied = [_chunk(1, 10, 0.41), _chunk(2, 20, 0.37), _chunk(3, 30, 0.3)]
    low = [_chunk(1, 10, 0.39), _chunk(2, 20, 0.2)]

    # when / then: only the one at 0.8 of the threshold or more that leads the next by a tenth of it, and alone
    assert [c.chunk_id for c in relevant_chunks(clear)] == [1]
    assert relevant_chunks(tied) == []
    assert relevant_chunks(low) == []
    assert [c.chunk_id for c in relevant_chunks(clear[:1])] == [1]


def test_the_search_score_and_the_words_choose_the_section_and_one_ending_of_a_word_matches_another():
    # given the two sections of "Changing an order": the search ranks the items section far above the address one,
    # which shares more words with the question
    items = _excerpt(1, "Changing an order", "Changing an order > Items, sizes and quantities", "")
    items["text"] = "Items can be changed only while the order is pending. Cancel the pending order and order again."
    address = _excerpt(2, "Changing an order", "Changing an order > Delivery address", "")
    address["text"] = (
        "You can change the delivery address before it ships. Changing the address book in your account does not "
        "change orders you have already placed: each order keeps the address it was placed with."
    )
    items["similarity"], items["relevance"] = 0.68, 1.41
    address["similarity"], address["relevance"] = 0.5, 1.02
    question = "can i change the size on an order i just placed"

    # when
    reply = _answer(_turn(question), {"excerpts": [address, items]})

    # then
    assert reply.parts[0].content.startswith("Items can be changed only while the order is pending.")
    assert stem("change") == stem("changed") == stem("changing") == stem("changes") == "chang"


def test_a_message_asking_two_questions_is_cut_into_them_and_one_question_is_not():
    # when / then
    assert asked_questions("what's your phone number, and do you ship on sundays?") == [
        "what's your phone number",
        "do you ship on sundays",
    ]
    assert asked_questions("can i pay with paypal and is there a fee for express shipping") == [
        "can i pay with paypal",
        "is there a fee for express shipping",
    ]
    assert asked_questions("how long do refunds take to reach my card?") == []
    assert asked_questions("i bought a kettle from you, is there a warranty on it?") == []
    assert asked_questions("do you ship to canada and how long does it take?") == []  # the second leans on the first


def test_each_question_of_the_message_is_answered_from_its_own_search():
    # given a message of two questions and the search of each
    email = _excerpt(1, "Contact us", "Contact us > Email", "Our email address is help@shop.example. We reply fast.")
    hours = _excerpt(2, "Contact us", "Contact us > Opening hours", "We are open Saturday 10 am to 2 pm.")
    text = "what's your email address, and are you open on saturdays?"
    searches = [
        {"query": "what's your email address", "excerpts": [email, hours]},
        {"query": "are you open on saturdays", "excerpts": [email, hours]},
    ]

    # when
    answers = _each_question(_turn(text), searches)

    # then: one answer each, the second not repeating the first's excerpt
    assert answers == [
        "Our email address is help@shop.example. [1]",
        "We are open Saturday 10 am to 2 pm. [2]",
    ]
    assert _each_question(_turn(text), searches[:1]) == []
    assert _each_question(_turn(text), [searches[0], {"query": "are you open on saturdays", "excerpts": []}]) == []


def test_another_section_of_the_page_that_the_question_names_adds_its_sentence():
    # given the two shipping sections, the standard one fitting the question best
    standard = _excerpt(
        1,
        "Shipping",
        "Shipping > Standard shipping",
        "Standard shipping costs $5.99. Standard shipping is free when your order is $50.00 or more.",
    )
    express = _excerpt(2, "Shipping", "Shipping > Express shipping", "Express shipping is never free: it costs $14.99.")
    question = "is express shipping free too when my order is over $50, or only standard shipping?"

    # when
    reply = _answer(_turn(question), {"excerpts": [standard, express]})

    # then: the express section, named by the question, is quoted too; a question naming only standard gets one
    assert "Express shipping is never free: it costs $14.99. [2]" in reply.parts[0].content
    only_standard = _answer(_turn("is standard shipping free over $50?"), {"excerpts": [standard, express]})
    assert "[2]" not in only_standard.parts[0].content


def test_another_way_is_not_quoted_before_the_main_one():
    # given a section whose second sentence offers another way ("You can also ...")
    text = (
        "Every newsletter has an Unsubscribe link at the bottom: one click and you are removed. "
        "You can also switch it off in your account settings."
    )

    # when / then: a question sharing a word only with the other way gets the main one
    assert best_sentences("how do i get off the newsletter", text) == [
        "Every newsletter has an Unsubscribe link at the bottom: one click and you are removed."
    ]


def test_a_frequency_is_quoted_for_a_how_often_question_that_shares_no_word_with_it():
    # given a section whose frequency sentence shares no word with the question
    text = (
        "Join the club from the footer of the site. "
        "Members get early access to sales, at most twice a month. "
        "The club is free to join."
    )

    # when / then
    assert "twice a month" in " ".join(best_sentences("if i join the club how often do u message me", text))


def test_a_shortened_or_misspelt_word_of_the_question_matches_the_sections_word():
    # given a section whose last sentence is reached only through "mins"
    text = (
        "Open the settings page and choose Devices. "
        "Pair the scale with the app using the code on its base. "
        "Wait up to 15 minutes for the first reading to appear."
    )

    # when
    chosen = best_sentences("i paired it 20 mins ago, the screen is still blank", text)

    # then: "mins" begins "minutes"; "adress" is one letter from "address"; "adres" is too short to be a misspelling
    assert chosen == [
        "Pair the scale with the app using the code on its base.",
        "Wait up to 15 minutes for the first reading to appear.",
    ]
    assert fuzzy_matches({"adress"}, {"address"}) == 1
    assert fuzzy_matches({"adres"}, {"dress"}) == 0


def test_the_first_sentence_answers_a_question_that_names_the_sections_heading():
    # given a section that opens on a list sharing no word with the question, which its heading names
    text = "Your loyalty points, your wish list and your saved sizes. We keep card details only as the last digits."

    # when
    with_heading = best_sentences("what info do you keep about me", text, heading="What we keep")
    without = best_sentences("what info do you keep about me", text)

    # then
    assert with_heading == [
        "Your loyalty points, your wish list and your saved sizes.",
        "We keep card details only as the last digits.",
    ]
    assert without == ["We keep card details only as the last digits."]


@pytest.fixture
def gaps(db: Any, settings: Any) -> None:
    """Unanswered questions embedded by the instant bag-of-words backend."""
    settings.KNOWLEDGE_EMBEDDING_BACKEND = "tests.knowledge.fakes.BagOfWordsBackend"


def test_the_tail_of_a_message_whose_question_was_answered_is_no_unanswered_question(gaps: None):
    # given a turn that searched the whole message (nothing), then its clauses: the question found an answer, the
    # tail ("thanks so much for the help") did not
    asked = "do they have a warranty? thanks so much for the help"
    deps = SimpleNamespace(
        searches=[
            KnowledgeSearch(asked=asked, query=asked, answered=False, best_score=0.2),
            KnowledgeSearch(asked=asked, query="do they have a warranty?", answered=True, best_score=0.6),
            KnowledgeSearch(asked=asked, query="thanks so much for the help", answered=False, best_score=0.1),
        ]
    )

    # when
    kept = record_unanswered(deps)

    # then nothing goes to the gaps report, and the turn's searches are spent
    assert kept == []
    assert not UnansweredQuestion.objects.exists()
    assert deps.searches == []


def test_a_question_no_search_answered_is_recorded_once_as_first_searched(gaps: None):
    # given a message searched whole, then clause by clause, and never answered
    asked = "my brother lives in france, can i send him a gift and will he pay import tax on it?"
    deps = SimpleNamespace(
        searches=[
            KnowledgeSearch(asked=asked, query=asked, answered=False, best_score=0.3),
            KnowledgeSearch(asked=asked, query="can i send him a gift", answered=False, best_score=0.2),
            KnowledgeSearch(asked=asked, query="will he pay import tax on it", answered=False, best_score=0.25),
        ]
    )

    # when
    kept = record_unanswered(deps)

    # then one row: the question as the customer asked it
    assert kept == [asked]
    row = UnansweredQuestion.objects.get()
    assert (row.question, row.best_score) == (asked, 0.3)


def test_each_step_of_a_planned_message_is_its_own_question_for_the_gaps_report(gaps: None):
    # given two steps of one message: the first step's search answered, the second step's did not
    deps = SimpleNamespace(
        searches=[
            KnowledgeSearch(
                asked="whats your return policy", query="whats your return policy", answered=True, best_score=0.7
            ),
            KnowledgeSearch(
                asked="do you sell surfboards", query="do you sell surfboards", answered=False, best_score=0.1
            ),
        ]
    )

    # when
    kept = record_unanswered(deps)

    # then only the unanswered step is kept
    assert kept == ["do you sell surfboards"]
    assert list(UnansweredQuestion.objects.values_list("question", flat=True)) == ["do you sell surfboards"]


@pytest.mark.slow
def test_the_help_topic_reader_names_the_section_a_question_asks_about_in_other_words():
    from apps.agents.specialists.help_sections import help_section

    # when / then: a price drop, a return fee and a warranty question in the customer's words; a question of
    # another topic names no section (the search's own answer stands)
    assert help_section("my lamp went on sale three days after i got it, can you give me the difference?").query == (
        "Price dropped after I ordered"
    )
    assert help_section("do i pay anything for the label if i send it back?").query == "Return shipping fee"
    assert help_section("if the kettle breaks in a year am i covered?").page == "Warranty"
    assert help_section("how do i reset my password?") is None
    assert help_section("can you send the lamp to my sister in madrid?").query == (
        "International shipping: countries we ship to"
    )
    assert help_section("is afterpay an option at checkout?").page == "Payment methods"


def _searched(text: str, excerpts: list[dict], **facts: Any) -> Turn:
    outcome = ToolOutcome(tool="search_knowledge", data={"query": text, "excerpts": excerpts})
    return Turn(
        text=text,
        earlier=[],
        last_reply="",
        replies=[],
        outcomes=[outcome],
        called=[("search_knowledge", {"query": text})],
        tools={"search_knowledge", "create_ticket"},
        facts=facts,
    )


def test_a_near_miss_yields_to_the_section_the_reader_is_sure_of_and_a_step_is_read_with_its_message(monkeypatch):
    # given a help-topic reader sure of two questions only: one about shipping abroad, one about a price drop
    abroad = HelpSection("International shipping: countries we ship to")
    dropped = HelpSection("Price dropped after I ordered")
    sure = {
        "do you deliver to germany": abroad,
        "the blanket went on sale the day after. can i get the difference": dropped,
    }
    monkeypatch.setattr(help_center_local, "help_section", lambda text: sure.get(text.strip(" ?")))
    near_miss = _excerpt(
        1, "Tracking your order", "Tracking your order > Tracking says delivered", "Check with neighbours."
    )
    near_miss["relevance"] = 0.93
    answered = {**near_miss, "relevance": 1.2}

    # when: a near miss of the customer's words; the same excerpt reaching the threshold; a planned step's part
    yielding = behaviour_steps(_searched("do you deliver to germany", [near_miss]))
    standing = behaviour_steps(_searched("do you deliver to germany", [answered]))
    step = behaviour_steps(
        _searched(
            "can i get the difference?",
            [],
            plan_message="the blanket went on sale the day after. can i get the difference?",
        )
    )

    # then: the reader's section is searched by its name, unless the customer's words reached the threshold
    assert [(p.tool_name, p.args_as_dict()) for p in yielding.parts] == [("search_knowledge", {"query": abroad.query})]
    assert standing.parts[0].content.startswith("Check with neighbours.")
    assert [(p.tool_name, p.args_as_dict()) for p in step.parts] == [("search_knowledge", {"query": dropped.query})]
