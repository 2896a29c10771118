"""Reading the knowledge base: hybrid retrieval, and the unanswered-questions report.

    knowledge_search(*, query: str, k: int = 5, filters: dict | None = None) -> list[RetrievedChunk]

This is the FAQ specialist's tool: its signature and `RetrievedChunk` are a
contract. Two retrievers each nominate their best `KNOWLEDGE_SEARCH_CANDIDATES`
chunks:

- vector: cosine distance between the query's embedding and the chunks' (HNSW
  index, iterative scan), only among documents embedded by the configured model;
- lexical: BM25 over field-weighted postings (`apps.knowledge.lexical`).

Every candidate then gets both scores and they are fused on an absolute scale
(`apps.knowledge.fusion`) with the knowledge base's fitted weight; chunks that
hold an identifier the query names ("TW-1001") or a quoted phrase come first.
A chunk is `answerable` when its fused score reaches the fitted threshold
(`RetrievalProfile.answer_threshold`, or `KNOWLEDGE_ANSWER_THRESHOLD`): below it
the FAQ specialist says it does not know. If embedding the query fails
(provider down), BM25 alone answers.

`filters` (all optional, combined with AND):
    {"source": "demo-kb" or ["demo-kb", "uploads"],   # KnowledgeSource.name
     "tags": ["returns"],                              # the document carries every tag
     "document_ids": [1, 2]}
Unknown keys raise ApplicationError(code="invalid_filter").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, FloatField, QuerySet, When
from pgvector.django import CosineDistance

from apps.core.errors import ApplicationError

from .embeddings import EmbeddingError, embed_query, get_backend
from .fusion import Scored, exact_terms, rank
from .hybrid import search_rows, vector_rows
from .lexical import bm25_candidates, lexical_query, profile_get
from .models import Chunk, RetrievalProfile, UnansweredQuestion

logger = logging.getLogger(__name__)

FILTER_KEYS = frozenset({"source", "tags", "document_ids"})


@dataclass(frozen=True)
class RetrievedChunk:
    """One retrieved chunk with what a citation needs.

    `score` is the fused score (w * similarity + (1 - w) * normalised BM25, on an
    absolute scale: comparable across searches of one knowledge base).
    `similarity` is the cosine similarity between the query and the chunk, also for
    chunks found by BM25 only; None when the query could not be embedded or the chunk
    was embedded by another model. `lexical_score` is BM25 over the query's maximum.
    `answerable` says the score reached the knowledge base's calibrated threshold
    (or the chunk holds an exact term the query names): below it, say you do not know.
    `source` is the document's URL, else its path.
    """

    chunk_id: int
    text: str
    score: float
    document_id: int
    document_title: str
    source: str
    source_name: str
    heading_path: tuple[str, ...]
    similarity: float | None = None
    vector_rank: int | None = None
    text_rank: int | None = None
    lexical_score: float | None = None
    answerable: bool = True

    @property
    def citation(self) -> str:
        path = [h for h in self.heading_path if h != self.document_title]
        return " > ".join([self.document_title, *path])


def _filtered(filters: dict[str, Any] | None) -> QuerySet[Chunk]:
    qs = Chunk.objects.filter(document__is_active=True)
    if not filters:
        return qs
    unknown = set(filters) - FILTER_KEYS
    if unknown:
        raise ApplicationError(f"unknown knowledge filter(s): {', '.join(sorted(unknown))}", code="invalid_filter")
    source = filters.get("source")
    if source:
        qs = qs.filter(document__source__name__in=[source] if isinstance(source, str) else list(source))
    tags = filters.get("tags")
    if tags:
        qs = qs.filter(document__tags__contains=[tags] if isinstance(tags, str) else list(tags))
    document_ids = filters.get("document_ids")
    if document_ids:
        qs = qs.filter(document_id__in=list(document_ids))
    return qs


@contextmanager
def hnsw_search_settings(*, limit: int, filtered: bool) -> Iterator[None]:
    """Transaction-local settings for one vector query, restored afterwards (SET LOCAL inside a
    caller's transaction would otherwise outlive the query; on error the savepoint rollback
    restores them).

    - `hnsw.ef_search`: search breadth, at least the number of rows wanted.
    - `hnsw.iterative_scan = relaxed_order`: the scan continues until enough rows pass the
      filters (there is always one: active documents of the current model) instead of
      returning fewer rows than asked (pgvector >= 0.8; results re-sorted by the caller).
    - `enable_sort = off` without filters: around 10k chunks the planner sometimes prefers
      reading every chunk and sorting by distance (measured 6x slower than the index).
      With filters the choice is left to it, as a selective filter makes exact search cheap.
    """
    values = [
        ("hnsw.ef_search", str(max(settings.KNOWLEDGE_HNSW_EF_SEARCH, limit))),
        ("hnsw.iterative_scan", "relaxed_order"),
        ("enable_sort", "on" if filtered else "off"),
    ]
    names = [name for name, _ in values]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join("current_setting(%s), set_config(%s, %s, true)" for _ in values),
            [param for name, value in values for param in (name, name, value)],
        )
        previous = cursor.fetchone()[0::2]
        yield
        cursor.execute(
            "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in values),
            [param for name, value in zip(names, previous, strict=True) for param in (name, value)],
        )


def vector_queryset(*, query_vector: Any, model: str, limit: int, filters: dict[str, Any] | None = None) -> QuerySet:
    return (
        _filtered(filters)
        .filter(document__embedding_model=model)
        .annotate(distance=CosineDistance("embedding", query_vector))
        .order_by("distance")
        .values_list("id", "distance")[:limit]
    )


def vector_candidates(
    *, query_vector: Any, model: str, limit: int, filters: dict[str, Any] | None = None
) -> list[tuple[int, float]]:
    """(chunk id, cosine distance), nearest first."""
    if not filters:
        rows = vector_rows(query_vector=query_vector, model=model, limit=limit)
        rows.sort(key=lambda row: (row[1], row[0]))  # relaxed_order may return near-ties out of order
        return rows
    with hnsw_search_settings(limit=limit, filtered=True):
        rows = list(vector_queryset(query_vector=query_vector, model=model, limit=limit, filters=filters))
    rows.sort(key=lambda row: (row[1], row[0]))  # relaxed_order may return near-ties out of order
    return rows


def _filter_sql(filters: dict[str, Any] | None) -> tuple[str, Sequence[Any]] | None:
    if not filters:
        return None
    sql, params = _filtered(filters).values("id").query.sql_with_params()
    return sql, params


def text_candidates(*, query: str, limit: int, filters: dict[str, Any] | None = None) -> list[tuple[int, float]]:
    """(chunk id, BM25 score), best first (the lexical half alone).

    Unfiltered: the impact-bounded path of `hybrid.search_rows` (one statement); filtered: every
    posting of the query's terms (`lexical.bm25_candidates`, the reference)."""
    _filtered(filters)  # validates the filter keys
    if filters:
        return bm25_candidates(lexical=lexical_query(query), limit=limit, chunk_filter=_filter_sql(filters))
    found = search_rows(query=query, limit=limit)
    ranked = sorted((row for row in found.rows if row.text_rank is not None), key=lambda row: row.text_rank)
    return [(row.chunk_id, row.bm25) for row in ranked]


@dataclass(frozen=True)
class Candidates:
    """Both retrievers' candidates for one query, each with both scores."""

    scored: tuple[Scored, ...]
    vector_rank: dict[int, int]
    text_rank: dict[int, int]
    pinned: frozenset[int]
    # (k1 + 1) * sum of the query terms' IDF: BM25 divided by it lies in [0, 1).
    max_bm25: float

    def ranked(self, vector_weight: float) -> list[Scored]:
        return rank(self.scored, vector_weight=vector_weight, pinned=self.pinned)


def _pinned(query: str, chunk_ids: Sequence[int]) -> frozenset[int]:
    """Chunks among `chunk_ids` holding every lexeme of at least one exact term of the query."""
    pinned: set[int] = set()
    ids = list(chunk_ids)
    if not ids:
        return frozenset()
    config = settings.KNOWLEDGE_TEXT_SEARCH_CONFIG
    with connection.cursor() as cursor:
        for term in exact_terms(query):
            cursor.execute(
                "SELECT p.chunk_id FROM knowledge_posting p JOIN knowledge_term t ON t.id = p.term_id"
                " WHERE t.lexeme = ANY(tsvector_to_array(to_tsvector(%s::regconfig, %s))) AND p.chunk_id = ANY(%s)"
                " GROUP BY p.chunk_id"
                " HAVING count(*) = cardinality(tsvector_to_array(to_tsvector(%s::regconfig, %s)))",
                [config, term, ids, config, term],
            )
            pinned.update(row[0] for row in cursor.fetchall())
    return frozenset(pinned)


def hybrid_candidates(
    *, query: str, limit: int, filters: dict[str, Any] | None = None, query_vector: Any = None, model: str = ""
) -> Candidates:
    """Vector and BM25 candidates (each `limit`), completed so every one carries both scores.

    Unfiltered (the FAQ specialist's search): one round trip (`hybrid.search_rows`).
    Filtered: the vector query under the filter, then BM25 over every posting of the query's terms."""
    if filters:
        return _filtered_candidates(query=query, limit=limit, filters=filters, query_vector=query_vector, model=model)
    found = search_rows(query=query, limit=limit, model=model, query_vector=query_vector)
    max_bm25 = found.max_bm25
    scored = tuple(
        Scored(
            chunk_id=row.chunk_id,
            document_id=row.document_id,
            similarity=(1.0 - row.distance) if row.distance is not None else None,
            lexical=(row.bm25 / max_bm25) if max_bm25 > 0 else 0.0,
        )
        for row in found.rows
    )
    union = [row.chunk_id for row in found.rows]
    return Candidates(
        scored=scored,
        vector_rank={row.chunk_id: row.vector_rank for row in found.rows if row.vector_rank is not None},
        text_rank={
            row.chunk_id: row.text_rank for row in found.rows if row.text_rank is not None and row.text_rank <= limit
        },
        pinned=_pinned(query, union) if exact_terms(query) else frozenset(),
        max_bm25=max_bm25,
    )


def _filtered_candidates(
    *, query: str, limit: int, filters: dict[str, Any], query_vector: Any, model: str
) -> Candidates:
    vector_rows = (
        vector_candidates(query_vector=query_vector, model=model, limit=limit, filters=filters)
        if query_vector is not None
        else []
    )
    lexical = lexical_query(query)
    text_rows = bm25_candidates(lexical=lexical, limit=limit, chunk_filter=_filter_sql(filters))
    vector_rank = {chunk_id: r for r, (chunk_id, _) in enumerate(vector_rows, start=1)}
    text_rank = {chunk_id: r for r, (chunk_id, _) in enumerate(text_rows, start=1)}
    bm25 = dict(text_rows)
    vector_only = [cid for cid in vector_rank if cid not in bm25]
    if vector_only and lexical.terms:
        bm25.update(bm25_candidates(lexical=lexical, limit=len(vector_only), chunk_ids=vector_only))
    union = list(dict.fromkeys([*vector_rank, *text_rank]))
    info = Chunk.objects.filter(pk__in=union)
    if query_vector is not None:
        # One query gives every candidate's document and its similarity (None for another model's vectors).
        info = info.annotate(
            distance=Case(
                When(document__embedding_model=model, then=CosineDistance("embedding", query_vector)),
                default=None,
                output_field=FloatField(),
            )
        )
        rows = {cid: (doc, dist) for cid, doc, dist in info.values_list("id", "document_id", "distance")}
    else:
        rows = {cid: (doc, None) for cid, doc in info.values_list("id", "document_id")}
    max_score = lexical.max_score
    scored = tuple(
        Scored(
            chunk_id=cid,
            document_id=rows[cid][0],
            similarity=(1.0 - float(rows[cid][1])) if rows[cid][1] is not None else None,
            lexical=(bm25.get(cid, 0.0) / max_score) if max_score > 0 else 0.0,
        )
        for cid in union
        if cid in rows  # a chunk replaced by a re-index between the queries is dropped
    )
    return Candidates(
        scored=scored,
        vector_rank=vector_rank,
        text_rank=text_rank,
        pinned=_pinned(query, union) if exact_terms(query) else frozenset(),
        max_bm25=max_score,
    )


def answer_threshold(profile: RetrievalProfile) -> float:
    override = settings.KNOWLEDGE_ANSWER_THRESHOLD
    return float(override) if override is not None else profile.answer_threshold


def knowledge_search(*, query: str, k: int = 5, filters: dict[str, Any] | None = None) -> list[RetrievedChunk]:
    """The `k` best chunks for `query`, best first (vector + BM25, fused with the fitted weight)."""
    query = " ".join(query.split())
    if not query or k <= 0:
        return []
    _filtered(filters)  # refuse unknown filter keys before embedding anything
    limit = max(settings.KNOWLEDGE_SEARCH_CANDIDATES, k)
    backend = get_backend()
    query_vector = None
    try:
        query_vector = embed_query(query, backend=backend)
    except EmbeddingError as exc:
        logger.warning("query embedding failed, BM25 only: %s", exc)
    candidates = hybrid_candidates(
        query=query, limit=limit, filters=filters, query_vector=query_vector, model=backend.name
    )
    profile = profile_get()
    # Without a vector the lexical half is all there is: give it the whole weight.
    weight = profile.vector_weight if query_vector is not None else 0.0
    return load_results(candidates, k=k, vector_weight=weight, threshold=answer_threshold(profile))


def load_results(candidates: Candidates, *, k: int, vector_weight: float, threshold: float) -> list[RetrievedChunk]:
    best = candidates.ranked(vector_weight)[:k]
    chunks = Chunk.objects.select_related("document__source").only(
        "id",
        "text",
        "heading_path",
        "document__id",
        "document__title",
        "document__uri",
        "document__source__name",
    )
    by_id = {chunk.pk: chunk for chunk in chunks.filter(pk__in=[c.chunk_id for c in best])}
    results = []
    for cand in best:
        chunk = by_id.get(cand.chunk_id)
        if chunk is None:  # replaced by a re-index between the queries
            continue
        score = cand.fused(vector_weight)
        results.append(
            RetrievedChunk(
                chunk_id=chunk.pk,
                text=chunk.text,
                score=score,
                document_id=chunk.document.pk,
                document_title=chunk.document.title,
                source=chunk.document.uri,
                source_name=chunk.document.source.name,
                heading_path=tuple(chunk.heading_path),
                similarity=cand.similarity,
                vector_rank=candidates.vector_rank.get(cand.chunk_id),
                text_rank=candidates.text_rank.get(cand.chunk_id),
                lexical_score=cand.lexical,
                answerable=score >= threshold or cand.chunk_id in candidates.pinned,
            )
        )
    return results


@dataclass(frozen=True)
class QuestionGroup:
    """Similar unanswered questions: the one most like the others first, how many, and when last asked."""

    question: str
    count: int
    examples: tuple[str, ...]
    last_asked: datetime
    best_score: float | None


GROUP_SIMILARITY = 0.75


def unanswered_questions_report(
    *, since: datetime | None = None, similarity: float = GROUP_SIMILARITY, limit: int = 50
) -> list[QuestionGroup]:
    """Questions the FAQ specialist could not answer, grouped by meaning (cosine >= `similarity` to a
    group's first question, greedy, newest first), largest groups first. Questions without a
    comparable vector are grouped by their exact (case-folded) text."""
    rows = UnansweredQuestion.objects.order_by("-asked_at", "-id")
    if since is not None:
        rows = rows.filter(asked_at__gte=since)
    model = get_backend().name
    groups: list[dict[str, Any]] = []
    seeds: list[np.ndarray] = []
    seed_groups: list[int] = []
    by_text: dict[str, int] = {}
    for row in rows.only("question", "best_score", "embedding", "embedding_model", "asked_at")[:5000]:
        index: int | None = None
        vector = np.asarray(row.embedding, dtype=np.float32) if row.embedding is not None else None
        if vector is not None and row.embedding_model == model and seeds:
            sims = np.stack(seeds) @ vector
            best = int(np.argmax(sims))
            if sims[best] >= similarity:
                index = seed_groups[best]
        key = row.question.casefold()
        if index is None:
            index = by_text.get(key)
        if index is None:
            index = len(groups)
            groups.append({"members": [], "last": row.asked_at, "best": None})
            if vector is not None and row.embedding_model == model:
                seeds.append(vector)
                seed_groups.append(index)
        by_text.setdefault(key, index)
        group = groups[index]
        group["members"].append(row.question)
        if row.best_score is not None:
            group["best"] = max(group["best"] or row.best_score, row.best_score)
    result = [
        QuestionGroup(
            question=g["members"][0],
            count=len(g["members"]),
            examples=tuple(dict.fromkeys(g["members"]))[:5],
            last_asked=g["last"],
            best_score=g["best"],
        )
        for g in groups
    ]
    result.sort(key=lambda g: (-g.count, -g.last_asked.timestamp()))
    return result[:limit]


__all__ = [
    "FILTER_KEYS",
    "Candidates",
    "RetrievedChunk",
    "hybrid_candidates",
    "knowledge_search",
    "load_results",
    "text_candidates",
    "unanswered_questions_report",
    "vector_candidates",
]
