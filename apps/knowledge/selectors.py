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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection

from apps.core.errors import ApplicationError

from .embeddings import EmbeddingError, embed_query, get_backend
from .fusion import Scored, exact_terms, rank
from .hybrid import LoadedChunk, search_rows, vector_rows
from .models import Chunk, Document, RetrievalProfile, UnansweredQuestion

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
    `threshold` is that threshold, so a caller can tell a near miss from a far one.
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
    threshold: float = 0.0

    @property
    def citation(self) -> str:
        path = [h for h in self.heading_path if h != self.document_title]
        return " > ".join([self.document_title, *path])


def document_filter(filters: dict[str, Any] | None) -> tuple[str, Sequence[Any]] | None:
    """(SQL selecting the ids of the active documents the filters allow, params); None without filters.
    Unknown keys raise `ApplicationError(code="invalid_filter")`."""
    if not filters:
        return None
    unknown = set(filters) - FILTER_KEYS
    if unknown:
        raise ApplicationError(f"unknown knowledge filter(s): {', '.join(sorted(unknown))}", code="invalid_filter")
    qs = Document.objects.filter(is_active=True)
    source = filters.get("source")
    if source:
        qs = qs.filter(source__name__in=[source] if isinstance(source, str) else list(source))
    tags = filters.get("tags")
    if tags:
        qs = qs.filter(tags__contains=[tags] if isinstance(tags, str) else list(tags))
    document_ids = filters.get("document_ids")
    if document_ids:
        qs = qs.filter(id__in=list(document_ids))
    return qs.order_by().values("id").query.sql_with_params()


def vector_candidates(
    *, query_vector: Any, model: str, limit: int, filters: dict[str, Any] | None = None
) -> list[tuple[int, float]]:
    """(chunk id, cosine distance), nearest first (the vector half alone, one round trip)."""
    rows = vector_rows(query_vector=query_vector, model=model, limit=limit, document_filter=document_filter(filters))
    rows.sort(key=lambda row: (row[1], row[0]))  # relaxed_order may return near-ties out of order
    return rows


def text_candidates(*, query: str, limit: int, filters: dict[str, Any] | None = None) -> list[tuple[int, float]]:
    """(chunk id, BM25 score), best first (the lexical half alone, one statement).

    Unfiltered: each query term's best `KNOWLEDGE_BM25_POSTINGS_PER_TERM` postings nominate; filtered:
    every posting of the query's terms among the filtered chunks (exact, as `lexical.bm25_candidates`)."""
    found = search_rows(query=query, limit=limit, document_filter=document_filter(filters))
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
    # Text and citation of the best chunks by fused score, read by the same statement.
    loaded: dict[int, LoadedChunk] = field(default_factory=dict)
    # The knowledge base's fusion weight (0 without a query vector) and answer threshold when searched.
    vector_weight: float = 0.5
    answer_threshold: float = 0.0

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
    *,
    query: str,
    limit: int,
    filters: dict[str, Any] | None = None,
    query_vector: Any = None,
    model: str = "",
    top: int = 0,
) -> Candidates:
    """Vector and BM25 candidates (each `limit`), completed so every one carries both scores, and the text
    of the `top` best by fused score: one round trip, filtered or not (`hybrid.search_rows`), plus one
    when the query names an exact term."""
    found = search_rows(
        query=query,
        limit=limit,
        model=model,
        query_vector=query_vector,
        document_filter=document_filter(filters),
        top=top,
    )
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
        loaded={row.chunk_id: row.loaded for row in found.rows if row.loaded is not None},
        vector_weight=found.vector_weight if found.vector_weight is not None else 0.0 if query_vector is None else 0.5,
        answer_threshold=found.answer_threshold if found.answer_threshold is not None else 0.0,
    )


def answer_threshold(profile: RetrievalProfile) -> float:
    override = settings.KNOWLEDGE_ANSWER_THRESHOLD
    return float(override) if override is not None else profile.answer_threshold


def knowledge_search(*, query: str, k: int = 5, filters: dict[str, Any] | None = None) -> list[RetrievedChunk]:
    """The `k` best chunks for `query`, best first (vector + BM25, fused with the fitted weight)."""
    query = " ".join(query.split())
    if not query or k <= 0:
        return []
    document_filter(filters)  # refuse unknown filter keys before embedding anything
    backend = get_backend()
    query_vector = None
    try:
        query_vector = embed_query(query, backend=backend)
    except EmbeddingError as exc:
        logger.warning("query embedding failed, BM25 only: %s", exc)
    return search_embedded(query=query, query_vector=query_vector, model=backend.name, k=k, filters=filters)


def search_embedded(
    *, query: str, query_vector: Any, model: str, k: int = 5, filters: dict[str, Any] | None = None
) -> list[RetrievedChunk]:
    """What `knowledge_search` runs once the query is embedded (`query_vector` None: BM25 alone, with the
    whole weight): one round trip (two when the query names an exact term)."""
    limit = max(settings.KNOWLEDGE_SEARCH_CANDIDATES, k)
    candidates = hybrid_candidates(
        query=query, limit=limit, filters=filters, query_vector=query_vector, model=model, top=k
    )
    override = settings.KNOWLEDGE_ANSWER_THRESHOLD
    threshold = float(override) if override is not None else candidates.answer_threshold
    return load_results(candidates, k=k, vector_weight=candidates.vector_weight, threshold=threshold)


def load_results(candidates: Candidates, *, k: int, vector_weight: float, threshold: float) -> list[RetrievedChunk]:
    best = candidates.ranked(vector_weight)[:k]
    loaded = dict(candidates.loaded)
    missing = [c.chunk_id for c in best if c.chunk_id not in loaded]
    if missing:  # a pinned chunk, or a search that did not read the text: one more query
        chunks = Chunk.objects.select_related("document__source").only(
            "id", "text", "heading_path", "document__title", "document__uri", "document__source__name"
        )
        for chunk in chunks.filter(pk__in=missing):
            loaded[chunk.pk] = LoadedChunk(
                text=chunk.text,
                heading_path=tuple(chunk.heading_path),
                document_title=chunk.document.title,
                source=chunk.document.uri,
                source_name=chunk.document.source.name,
            )
    results = []
    for cand in best:
        chunk = loaded.get(cand.chunk_id)
        if chunk is None:  # replaced by a re-index between the queries
            continue
        score = cand.fused(vector_weight)
        results.append(
            RetrievedChunk(
                chunk_id=cand.chunk_id,
                text=chunk.text,
                score=score,
                document_id=cand.document_id,
                document_title=chunk.document_title,
                source=chunk.source,
                source_name=chunk.source_name,
                heading_path=chunk.heading_path,
                similarity=cand.similarity,
                vector_rank=candidates.vector_rank.get(cand.chunk_id),
                text_rank=candidates.text_rank.get(cand.chunk_id),
                lexical_score=cand.lexical,
                answerable=score >= threshold or cand.chunk_id in candidates.pinned,
                threshold=threshold,
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
    "document_filter",
    "hybrid_candidates",
    "knowledge_search",
    "load_results",
    "search_embedded",
    "text_candidates",
    "unanswered_questions_report",
    "vector_candidates",
]
