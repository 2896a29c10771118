import pytest
from django.db import connection

from apps.core.errors import ApplicationError
from apps.knowledge import hybrid
from apps.knowledge.lexical import bm25_candidates, lexical_query
from apps.knowledge.models import Chunk, Document
from apps.knowledge.selectors import (
    RetrievedChunk,
    hybrid_candidates,
    knowledge_search,
    search_embedded,
    vector_candidates,
)

from .conftest import ingest, md
from .fakes import bag_of_words

pytestmark = pytest.mark.django_db

CORPUS = {
    "https://shop.example/help/returns": md(
        "Returns",
        ("Return window", "You can send items back within 30 days after the parcel was delivered."),
        ("Return fee", "Change-of-mind returns cost a small label fee, taken from the refund."),
        front="---\ntags: [returns, policy]\n---\n",
    ),
    "https://shop.example/help/passwords": md(
        "Passwords",
        ("Forgotten password", "Choose 'Forgot password?' on the sign-in page and follow the emailed link."),
        front="---\ntags: [account]\n---\n",
    ),
    "https://shop.example/help/shipping": md(
        "Shipping",
        ("Express", "Express parcels arrive in one to two business days."),
        ("Carriers", "We hand parcels to the carrier Kestrel Freight, reference code KX-4471."),
        front="---\ntags: [shipping, policy]\n---\n",
    ),
    "https://shop.example/help/gift-cards": md(
        "Gift cards", ("Balance", "Enter the gift card number on the Gift cards page to see what is left on it.")
    ),
}


@pytest.fixture
def corpus(local_backend):
    ingest("help", CORPUS)
    ingest("blog", {"https://shop.example/blog/returns-story": md("Our story", ("Returns", "Why we love returns."))})


@pytest.mark.slow
def test_hybrid_search_ranks_the_answering_chunk_first_with_its_citation(corpus):
    # given / when
    results = knowledge_search(query="how long do I have to send something back?", k=3)

    # then
    assert len(results) == 3
    top = results[0]
    assert isinstance(top, RetrievedChunk)
    assert top.text == "You can send items back within 30 days after the parcel was delivered."
    assert (top.document_title, top.source, top.source_name) == ("Returns", "https://shop.example/help/returns", "help")
    assert top.heading_path == ("Returns", "Return window")
    assert top.citation == "Returns > Return window"
    assert top.vector_rank == 1
    assert top.similarity is not None
    assert top.similarity > 0.4
    assert [r.score for r in results] == sorted((r.score for r in results), reverse=True)


@pytest.mark.slow
def test_full_text_finds_an_exact_code_that_embeddings_do_not_understand(corpus):
    # given / when
    results = knowledge_search(query="KX-4471", k=2)

    # then
    assert results[0].text == "We hand parcels to the carrier Kestrel Freight, reference code KX-4471."
    assert results[0].text_rank == 1


@pytest.mark.slow
def test_filters_by_source_and_tags(corpus):
    # given / when
    by_source = knowledge_search(query="returns", k=10, filters={"source": "blog"})
    by_tags = knowledge_search(query="returns", k=10, filters={"tags": ["policy"]})
    by_both_tags = knowledge_search(query="parcels", k=10, filters={"tags": ["shipping", "policy"]})

    # then
    assert {r.source for r in by_source} == {"https://shop.example/blog/returns-story"}
    assert {r.source for r in by_tags} == {"https://shop.example/help/returns", "https://shop.example/help/shipping"}
    assert {r.source for r in by_both_tags} == {"https://shop.example/help/shipping"}


@pytest.mark.slow
def test_inactive_documents_are_never_retrieved(corpus):
    # given
    Document.objects.filter(uri="https://shop.example/help/gift-cards").update(is_active=False)

    # when
    results = knowledge_search(query="gift card balance", k=10)

    # then
    assert "https://shop.example/help/gift-cards" not in {r.source for r in results}


def test_unknown_filters_are_refused(fake_backend):
    # given / when / then
    with pytest.raises(ApplicationError) as info:
        knowledge_search(query="returns", filters={"customer_id": 7})
    assert info.value.code == "invalid_filter"


def test_an_empty_query_returns_nothing_without_embedding(fake_backend):
    # given / when
    results = knowledge_search(query="   ")

    # then
    assert results == []
    assert fake_backend.calls == []


def test_chunks_from_another_embedding_model_are_found_by_full_text_only(fake_backend, settings):
    # given documents embedded with one model, then the backend switched without re-indexing
    ingest("help", CORPUS)
    settings.KNOWLEDGE_EMBEDDING_BACKEND = "tests.knowledge.fakes.OtherBagOfWordsBackend"

    # when
    results = knowledge_search(query="gift card balance", k=3)

    # then
    assert results[0].document_title == "Gift cards"
    assert all(r.vector_rank is None and r.similarity is None for r in results)


def test_when_the_query_cannot_be_embedded_full_text_still_answers(fake_backend):
    # given
    ingest("help", CORPUS)
    fake_backend.fail_when = "password"

    # when
    results = knowledge_search(query="forgot my password", k=1)

    # then
    assert results[0].source == "https://shop.example/help/passwords"
    assert results[0].vector_rank is None


def test_a_chunk_found_by_bm25_only_still_gets_its_similarity(fake_backend):
    # given a query vector nearest to another chunk, and words only the KX chunk holds
    ingest("help", CORPUS)
    chunk = Chunk.objects.get(text__contains="KX-4471")
    vector = bag_of_words("gift card balance")

    # when
    candidates = hybrid_candidates(query="KX-4471 reference", limit=1, query_vector=vector, model="test:bag-of-words")
    other_model = hybrid_candidates(query="KX-4471 reference", limit=1, query_vector=vector, model="x")

    # then
    found = {c.chunk_id: c for c in candidates.scored}
    expected = float(vector @ bag_of_words("Shipping > Carriers\n\n" + chunk.text))
    assert found[chunk.pk].similarity == pytest.approx(expected, abs=1e-5)
    assert (candidates.vector_rank.get(chunk.pk), candidates.text_rank[chunk.pk]) == (None, 1)
    assert [c.similarity for c in other_model.scored] == [None]


def test_vector_search_leaves_the_callers_transaction_settings_alone(fake_backend):
    # given
    ingest("help", CORPUS)
    read = (
        "SELECT current_setting('hnsw.ef_search'), current_setting('hnsw.iterative_scan'),"
        " current_setting('enable_sort')"
    )
    with connection.cursor() as cursor:
        cursor.execute(read)
        before = cursor.fetchone()

        # when (inside the test's transaction, as inside an agent turn's)
        filtered = vector_candidates(
            query_vector=bag_of_words("gift card"), model="test:bag-of-words", limit=3, filters={"source": "help"}
        )
        unfiltered = vector_candidates(query_vector=bag_of_words("gift card"), model="test:bag-of-words", limit=3)
        cursor.execute(read)
        after = cursor.fetchone()

    # then
    assert before == ("40", "off", "on")
    assert after == before
    assert len(filtered) == len(unfiltered) == 3
    assert filtered[0] == unfiltered[0]  # the rest tie at distance 1.0 with this toy backend


def test_an_unfiltered_hybrid_search_is_one_round_trip_with_exact_bm25_for_every_candidate(
    fake_backend, django_assert_num_queries
):
    # given (the pgvector version is read once per process)
    ingest("help", CORPUS)
    vector = bag_of_words("gift card balance")
    hybrid_candidates(query="warm up", limit=3, query_vector=vector, model="test:bag-of-words")

    # when
    with django_assert_num_queries(1):
        candidates = hybrid_candidates(
            query="gift card parcels", limit=3, query_vector=vector, model="test:bag-of-words"
        )

    # then both halves' candidates carry the reference BM25 (over every posting) and a similarity
    ids = [c.chunk_id for c in candidates.scored]
    reference = dict(bm25_candidates(lexical=lexical_query("gift card parcels"), limit=len(ids), chunk_ids=ids))
    assert set(candidates.vector_rank) | set(candidates.text_rank) == set(ids)
    assert {c.chunk_id: c.lexical * candidates.max_bm25 for c in candidates.scored} == pytest.approx(
        {chunk_id: reference.get(chunk_id, 0.0) for chunk_id in ids}, rel=1e-9
    )
    assert all(c.similarity is not None for c in candidates.scored)


def test_the_one_statement_search_skips_inactive_documents_in_both_halves(fake_backend):
    # given
    ingest("help", CORPUS)
    Document.objects.filter(uri="https://shop.example/help/gift-cards").update(is_active=False)
    gift = Chunk.objects.filter(document__uri="https://shop.example/help/gift-cards")
    gift_chunks = set(gift.values_list("pk", flat=True))

    # when
    candidates = hybrid_candidates(
        query="gift card balance", limit=10, query_vector=bag_of_words("gift card balance"), model="test:bag-of-words"
    )

    # then
    assert candidates.scored
    assert gift_chunks.isdisjoint(c.chunk_id for c in candidates.scored)


def test_a_filtered_hybrid_search_is_one_round_trip_with_exact_bm25_inside_the_filter(
    fake_backend, django_assert_num_queries
):
    # given (the pgvector version is read once per process)
    ingest("help", CORPUS)
    ingest("blog", {"https://shop.example/blog/parcels": md("Parcels", ("Gift", "A gift card in every parcel."))})
    vector = bag_of_words("gift card parcels")
    hybrid_candidates(query="warm up", limit=3, query_vector=vector, model="test:bag-of-words")
    policy = set(Chunk.objects.filter(document__tags__contains=["policy"]).values_list("pk", flat=True))

    # when
    with django_assert_num_queries(1):
        candidates = hybrid_candidates(
            query="gift card parcels",
            limit=10,
            query_vector=vector,
            model="test:bag-of-words",
            filters={"tags": ["policy"]},
        )

    # then only the filtered documents' chunks, each half complete, BM25 as the reference over every posting
    reference = dict(bm25_candidates(lexical=lexical_query("gift card parcels"), limit=10, chunk_ids=sorted(policy)))
    assert {c.chunk_id for c in candidates.scored} == policy
    assert set(candidates.vector_rank) == policy
    assert {c.chunk_id: c.lexical * candidates.max_bm25 for c in candidates.scored} == pytest.approx(
        {chunk_id: reference.get(chunk_id, 0.0) for chunk_id in policy}, rel=1e-9
    )
    assert set(candidates.text_rank) == {chunk_id for chunk_id, score in reference.items() if score > 0}


def test_a_search_with_a_ready_vector_is_one_round_trip_including_the_best_chunks_text(
    fake_backend, django_assert_num_queries
):
    # given
    ingest("help", CORPUS)
    vector = bag_of_words("express parcels")
    search_embedded(query="warm up", query_vector=vector, model="test:bag-of-words", k=2)

    # when
    with django_assert_num_queries(1):
        results = search_embedded(query="express parcels", query_vector=vector, model="test:bag-of-words", k=2)

    # then
    assert (results[0].text, results[0].citation, results[0].source_name) == (
        "Express parcels arrive in one to two business days.",
        "Shipping > Express",
        "help",
    )
    assert len(results) == 2
    assert results[0].score >= results[1].score


def test_a_chunk_pinned_by_an_exact_term_is_loaded_even_when_its_score_is_not_among_the_best(fake_backend):
    # given a query vector pointing at the gift card chunk and a code only the carriers chunk holds
    ingest("help", CORPUS)
    vector = bag_of_words("gift card balance number page")

    # when
    results = search_embedded(query="balance KX-4471", query_vector=vector, model="test:bag-of-words", k=1)

    # then
    assert [r.text for r in results] == ["We hand parcels to the carrier Kestrel Freight, reference code KX-4471."]
    assert results[0].answerable


def test_the_database_function_is_the_current_hybrid_statement():
    # given the function migration 0006 created (a frozen copy of the statement)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prosrc, pg_get_function_identity_arguments(oid), proconfig FROM pg_proc WHERE proname = %s",
            [hybrid.FUNCTION_NAME],
        )
        rows = cursor.fetchall()

    # then it runs exactly the statement `hybrid.py` builds now (else: a migration must replace it)
    assert len(rows) == 1
    source, arguments, config = rows[0]
    assert source == hybrid.function_body()
    assert arguments == ", ".join(f"p_{name} {kind}" for name, kind in hybrid.FUNCTION_ARGS)
    assert config == ["plan_cache_mode=force_generic_plan"]


def test_an_unfiltered_search_runs_the_function_and_a_filtered_one_the_statement(
    fake_backend, django_assert_num_queries
):
    # given
    ingest("help", CORPUS)
    vector = bag_of_words("gift card balance")
    hybrid_candidates(query="warm up", limit=3, query_vector=vector, model="test:bag-of-words")

    # when
    with django_assert_num_queries(1) as unfiltered:
        hybrid_candidates(query="gift card", limit=3, query_vector=vector, model="test:bag-of-words")
    with django_assert_num_queries(1) as filtered:
        hybrid_candidates(
            query="gift card", limit=3, query_vector=vector, model="test:bag-of-words", filters={"source": "help"}
        )

    # then
    assert f"FROM {hybrid.FUNCTION_NAME}(" in unfiltered.captured_queries[0]["sql"]
    assert hybrid.FUNCTION_NAME not in filtered.captured_queries[0]["sql"]
