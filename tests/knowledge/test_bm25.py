import math

import pytest

from apps.knowledge.lexical import (
    ChunkFields,
    bm25_candidates,
    chunk_term_frequencies,
    lexical_query,
    profile_get,
    statistics_rebuild,
)
from apps.knowledge.models import Chunk, Posting, RetrievalProfile, Term
from apps.knowledge.selectors import text_candidates
from apps.knowledge.services import DocumentInput, documents_delete, ingest_documents, source_get_or_create

pytestmark = pytest.mark.django_db


def _ingest_text(docs: dict[str, str]) -> dict[str, int]:
    source = source_get_or_create(name="hand")
    items = [DocumentInput(uri=uri, format="text", raw_content=text) for uri, text in docs.items()]
    ingest_documents(source=source, items=items)
    return {c.document.uri: c.pk for c in Chunk.objects.select_related("document")}


# Each document is a title line and one body line; the English configuration stems
# "parcels" -> "parcel" and drops stop words ("the", "a", "is").
HAND = {
    "a": "Parcel\n\nparcel parcel refund",
    "b": "Refund\n\nrefund is slow",
    "c": "Gift\n\na gift card",
}


def test_bm25_scores_match_a_hand_computed_example(fake_backend):
    # given three chunks; pseudo-documents with the title counted twice (weight 2):
    #   a: parcel 2*1 + 2 = 4, refund 1             -> length 5
    #   b: refund 2*1 + 1 = 3, slow 1               -> length 4
    #   c: gift 2*1 + 1 = 3, card 1                 -> length 4
    # N = 3, average length 13/3; df(parcel) = 1, df(refund) = 2
    chunk = _ingest_text(HAND)

    # when
    rows = dict(text_candidates(query="parcels refund", limit=10))

    # then (Okapi BM25, k1 = 1.2, b = 0.75, Lucene IDF)
    def idf(df: int) -> float:
        return math.log(1 + (3 - df + 0.5) / (df + 0.5))

    def term(f: float, length: float) -> float:
        return f * 2.2 / (f + 1.2 * (1 - 0.75 + 0.75 * length / (13 / 3)))

    expected_a = idf(1) * term(4, 5) + idf(2) * term(1, 5)
    expected_b = idf(2) * term(3, 4)
    assert set(rows) == {chunk["a"], chunk["b"]}
    assert rows[chunk["a"]] == pytest.approx(expected_a, rel=1e-9)
    assert rows[chunk["b"]] == pytest.approx(expected_b, rel=1e-9)
    assert (round(rows[chunk["a"]], 3), round(rows[chunk["b"]], 3)) == (2.059, 0.751)


def test_field_weights_count_title_headings_and_faq_questions_apart_from_body(fake_backend):
    # given
    fields = ChunkFields(
        chunk_id=1, title="Shipping", headings=("Shipping", "Carriers", "Do you ship abroad?"), body="We ship abroad."
    )

    # when
    frequencies = chunk_term_frequencies([fields])[1]

    # then title x2, heading x2, FAQ question x3, body x1
    assert frequencies == {"ship": 2.0 + 3.0 + 1.0, "carrier": 2.0, "abroad": 3.0 + 1.0}


def test_statistics_follow_ingest_and_delete(fake_backend):
    # given
    chunk = _ingest_text(HAND)
    profile = profile_get()
    assert (profile.chunk_count, profile.total_length) == (3, 13.0)
    assert Term.objects.get(lexeme="refund").chunk_frequency == 2

    # when
    documents_delete(document_ids=[Chunk.objects.get(pk=chunk["b"]).document_id])

    # then
    profile = profile_get()
    assert (profile.chunk_count, profile.total_length) == (2, 9.0)
    assert Term.objects.get(lexeme="refund").chunk_frequency == 1
    assert Term.objects.get(lexeme="slow").chunk_frequency == 0
    assert not Posting.objects.filter(chunk_id=chunk["b"]).exists()
    query = lexical_query("refund slow")
    assert [(t.lexeme, t.chunk_frequency) for t in query.terms] == [("refund", 1)]


def test_a_changed_document_replaces_its_postings_and_statistics(fake_backend):
    # given
    _ingest_text(HAND)

    # when document c is rewritten
    _ingest_text({"c": "Gift\n\ngift gift refund"})

    # then c counts once: gift 2 + 2 = 4, refund 1 -> length 5; refund now in a, b and c
    profile = profile_get()
    assert (profile.chunk_count, profile.total_length) == (3, 14.0)
    assert Term.objects.get(lexeme="refund").chunk_frequency == 3
    assert Term.objects.get(lexeme="card").chunk_frequency == 0


def test_rebuilding_statistics_repairs_drift(fake_backend):
    # given statistics corrupted behind the services' back
    _ingest_text(HAND)
    Term.objects.filter(lexeme="refund").update(chunk_frequency=99)
    RetrievalProfile.objects.update(chunk_count=7, total_length=1.0)

    # when
    statistics_rebuild()

    # then
    assert Term.objects.get(lexeme="refund").chunk_frequency == 2
    assert (profile_get().chunk_count, profile_get().total_length) == (3, 13.0)


def test_past_the_per_term_budget_only_each_terms_best_postings_nominate(fake_backend, settings):
    # given one nominee per term: "parcel" nominates a, "refund" its best posting, b (f 3 in length 4
    # beats a's f 1 in length 5); c holds neither
    chunk = _ingest_text(HAND)
    settings.KNOWLEDGE_BM25_POSTINGS_PER_TERM = 1

    # when
    rows = dict(text_candidates(query="parcels refund", limit=10))

    # then both are still found, and each nominee's score is exact over every query term
    settings.KNOWLEDGE_BM25_POSTINGS_PER_TERM = 1000
    full = dict(text_candidates(query="parcels refund", limit=10))
    assert rows == pytest.approx(full, rel=1e-12)
    assert set(rows) == {chunk["a"], chunk["b"]}


def test_past_the_per_term_budget_a_chunk_in_no_terms_top_list_is_missed(fake_backend, settings):
    # given "refund" in a (f 1), b (f 3) and d (f 1, longer); one nominee per term
    chunk = _ingest_text({**HAND, "d": "Misc\n\nrefund policy details here"})
    settings.KNOWLEDGE_BM25_POSTINGS_PER_TERM = 1

    # when
    rows = dict(text_candidates(query="refund", limit=10))

    # then only the best posting (b) nominates: the bounded-cost approximation
    assert set(rows) == {chunk["b"]}


def test_the_one_statement_lexical_path_ranks_and_scores_as_the_reference_bm25(fake_backend):
    # given a small corpus (no query term past the per-term budget)
    _ingest_text(
        {
            **HAND,
            "d": "Misc\n\nrefund policy details here",
            "e": "Parcel delays\n\nparcel delivery is slow, refund on request",
            "f": "Slow\n\nslow slow slow",
        }
    )

    # when
    fast = text_candidates(query="parcels refund slow", limit=10)
    reference = bm25_candidates(lexical=lexical_query("parcels refund slow"), limit=10)

    # then the same chunks in the same order with the same scores
    assert len(fast) == 5  # every chunk but c
    assert [chunk_id for chunk_id, _ in fast] == [chunk_id for chunk_id, _ in reference]
    assert [score for _, score in fast] == pytest.approx([score for _, score in reference], rel=1e-12)
