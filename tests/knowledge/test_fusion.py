import pytest

from apps.knowledge.fusion import FitQuery, Scored, choose_threshold, choose_weight, exact_terms, fit, rank
from apps.knowledge.lexical import profile_get
from apps.knowledge.models import RetrievalProfile
from apps.knowledge.selectors import knowledge_search

from .conftest import ingest, md

pytestmark = pytest.mark.django_db


def _c(chunk_id: int, similarity: float | None, lexical: float, document_id: int | None = None) -> Scored:
    return Scored(chunk_id=chunk_id, document_id=document_id or chunk_id, similarity=similarity, lexical=lexical)


def test_fusion_orders_by_the_weighted_sum_of_both_absolute_scores():
    # given: 1 is the vector favourite, 2 the lexical one, 3 is good at both
    candidates = [_c(1, 0.9, 0.0), _c(2, 0.1, 0.8), _c(3, 0.6, 0.5)]

    # when
    vector_only = rank(candidates, vector_weight=1.0)
    lexical_only = rank(candidates, vector_weight=0.0)
    balanced = rank(candidates, vector_weight=0.5)

    # then 0.5*0.9 = 0.45, 0.5*(0.1+0.8) = 0.45, 0.5*(0.6+0.5) = 0.55; the tie goes to the higher similarity
    assert [c.chunk_id for c in vector_only] == [1, 3, 2]
    assert [c.chunk_id for c in lexical_only] == [2, 3, 1]
    assert [c.chunk_id for c in balanced] == [3, 1, 2]
    assert balanced[0].fused(0.5) == pytest.approx(0.55)


def test_a_chunk_holding_the_exact_term_ranks_first_whatever_its_score():
    # given
    candidates = [_c(1, 0.9, 0.1), _c(2, 0.2, 0.3)]

    # when
    ranked = rank(candidates, vector_weight=0.7, pinned=frozenset({2}))

    # then
    assert [c.chunk_id for c in ranked] == [2, 1]


def test_exact_terms_are_identifiers_and_quoted_phrases():
    # given / when / then
    assert exact_terms('Is code RET-30 valid for order TW-1001 and the "Trailhead Pack"?') == [
        "RET-30",
        "TW-1001",
        "Trailhead Pack",
    ]
    assert exact_terms("how long do refunds take?") == []


def test_the_fitted_weight_is_the_one_that_ranks_the_answers_best():
    # given queries whose answers only the lexical half ranks first
    queries = [
        FitQuery(text=f"q{i}", document_id=10 + i, candidates=(_c(1, 0.9, 0.0, 99), _c(2, 0.5, 0.9, 10 + i)))
        for i in range(3)
    ]

    # when
    weight, mrr = choose_weight(queries)

    # then any weight below 0.69 puts the answer first (0.5w + 0.9(1 - w) > 0.9w); 0.5 is the balanced choice
    assert mrr[0.0] == mrr[0.5] == 1.0
    assert mrr[1.0] == 0.5
    assert weight == 0.5


def test_the_threshold_is_the_lowest_score_no_more_than_the_allowed_share_of_left_out_questions_reach():
    # given ten questions without an answer in the knowledge base, four with
    negatives = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6]
    positives = [0.4, 0.55, 0.7, 0.8]

    # when false answers may reach three in ten left-out questions
    threshold, answered, refused = choose_threshold(positives, negatives, false_answer_rate=0.3)

    # then 0.6, 0.5 and 0.45 get past it and 0.4 does not: the cut sits just above 0.4
    assert threshold == pytest.approx(0.4)
    assert threshold > 0.4
    assert (answered, refused) == (0.75, 0.7)


def test_the_threshold_never_lets_more_false_answers_through_than_allowed():
    # given
    negatives = [0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6]
    positives = [0.4, 0.55, 0.7, 0.8]

    # when no left-out question may get an answer
    threshold, answered, refused = choose_threshold(positives, negatives, false_answer_rate=0.0)

    # then the cut moves above 0.6, at the cost of answering only half
    assert threshold == pytest.approx(0.6)
    assert threshold > 0.6
    assert (answered, refused) == (0.5, 1.0)


def test_answers_scoring_below_every_left_out_question_do_not_lower_the_threshold():
    # given generated answers that score below every left-out question
    negatives = [0.3, 0.4, 0.5, 0.6]
    positives = [0.1, 0.2]

    # when
    threshold, answered, refused = choose_threshold(positives, negatives, false_answer_rate=0.25)

    # then one of four left-out questions (0.6) may get an answer
    assert threshold == pytest.approx(0.5)
    assert threshold > 0.5
    assert (answered, refused) == (0.0, 0.75)


def test_fit_reports_both_halves_and_the_choice():
    # given
    queries = [FitQuery(text="q", document_id=1, candidates=(_c(1, 0.8, 0.4), _c(2, 0.3, 0.1)))]

    # when
    result = fit(queries, false_answer_rate=0.0)

    # then the left-out score (document 2's) is refused, the present answer clears it
    assert result.queries == 1
    assert result.refused_rate == 1.0
    assert result.answered_rate == 1.0
    assert 0.5 * 0.3 + 0.5 * 0.1 < result.answer_threshold <= 0.5 * 0.8 + 0.5 * 0.4


def test_the_fit_reports_how_many_answers_as_stored_reach_the_threshold():
    # given a query whose answer, with the query's own words hidden, loses to another document (weight
    # fitting sees that), while the answer as stored scores 0.5 * 0.9 + 0.5 * 0.7 = 0.8 and the best
    # other document 0.5 * 0.3 + 0.5 * 0.1 = 0.2
    query = FitQuery(
        text="q",
        document_id=1,
        candidates=(_c(11, 0.2, 0.1, 1), _c(2, 0.3, 0.1, 2)),
        present=(_c(12, 0.9, 0.7, 1),),
    )
    unanswered = FitQuery(text="r", document_id=3, candidates=(_c(13, 0.1, 0.0, 3), _c(2, 0.5, 0.3, 2)))

    # when
    result = fit([query, unanswered], false_answer_rate=0.5)

    # then the left-out scores are 0.2 and 0.4, one of two may pass: the cut sits just above 0.2;
    # the stored answer (0.8) reaches it, the second query's masked answer (0.05) ranks below document 2
    assert result.vector_weight == 0.5
    assert result.answer_threshold == pytest.approx(0.2)
    assert result.answer_threshold > 0.2
    assert (result.answered_rate, result.refused_rate) == (1.0, 0.5)


CORPUS = {
    "returns": md(
        "Returns",
        ("How long do I have to return an item?", "Send items back within thirty days of delivery."),
        ("Return shipping fee", "A small label fee is taken from the refund for change-of-mind returns."),
    ),
    "shipping": md(
        "Shipping",
        ("Do you ship abroad?", "We ship to thirty countries with tracked couriers."),
        ("Express delivery", "Express parcels arrive in one to two business days."),
    ),
    "gift-cards": md("Gift cards", ("Checking a balance", "Enter the gift card number on the gift card page.")),
    "passwords": md("Passwords", ("Forgotten password", "Use the forgot password link on the sign-in page.")),
}


def test_ingest_fits_the_profile_from_the_documents_headings(fake_backend):
    # when
    ingest("help", CORPUS)

    # then
    profile = profile_get()
    assert profile.fitted_at is not None
    assert profile.fit_report["queries"] >= 8
    assert 0.0 <= profile.vector_weight <= 1.0
    assert profile.answer_threshold > 0.0
    assert RetrievalProfile.objects.count() == 1


def test_below_the_threshold_nothing_is_answerable(fake_backend, settings):
    # given
    ingest("help", CORPUS)

    # when a threshold above every score, then one below every score
    settings.KNOWLEDGE_ANSWER_THRESHOLD = 1.01
    refused = knowledge_search(query="express parcels delivery", k=3)
    settings.KNOWLEDGE_ANSWER_THRESHOLD = 0.0
    answered = knowledge_search(query="express parcels delivery", k=3)

    # then the same chunks, flagged differently
    assert [r.chunk_id for r in refused] == [r.chunk_id for r in answered]
    assert refused[0].heading_path == ("Shipping", "Express delivery")
    assert [r.answerable for r in refused] == [False, False, False]
    assert all(r.answerable for r in answered)


def test_the_fitted_threshold_refuses_an_unrelated_question_and_answers_a_related_one(fake_backend):
    # given
    ingest("help", CORPUS)

    # when
    related = knowledge_search(query="how many days do express parcels take to arrive", k=1)
    unrelated = knowledge_search(query="loyalty points programme membership tiers", k=1)

    # then
    assert related[0].heading_path == ("Shipping", "Express delivery")
    assert related[0].answerable is True
    assert unrelated == [] or unrelated[0].answerable is False
