"""Reading the knowledge base: hybrid retrieval.

    knowledge_search(*, query: str, k: int = 5, filters: dict | None = None) -> list[RetrievedChunk]

This is the FAQ specialist's tool: its signature and `RetrievedChunk` are a
contract. Two retrievers each return their best `KNOWLEDGE_SEARCH_CANDIDATES`
chunks:

- vector: cosine distance between the query's embedding and the chunks' (HNSW
  index), only among documents embedded by the configured backend's model;
- full text: the query parsed by `websearch_to_tsquery`; chunks holding every
  term first, then (when that leaves room) chunks holding any term (a question
  rarely contains every word of its answer), each ranked by `ts_rank` with
  section headings weighted above text.

They are fused by reciprocal rank: score = sum over retrievers of 1 / (RRF_K + rank).
If embedding the query fails (provider down), full text alone answers.

`filters` (all optional, combined with AND):
    {"source": "demo-kb" or ["demo-kb", "uploads"],   # KnowledgeSource.name
     "tags": ["returns"],                              # the document carries every tag
     "document_ids": [1, 2]}
Unknown keys raise ApplicationError(code="invalid_filter").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.postgres.search import SearchQueryField, SearchRank
from django.db import connection, transaction
from django.db.models import BooleanField, F, Func, QuerySet
from django.db.models.expressions import RawSQL
from pgvector.django import CosineDistance

from apps.core.errors import ApplicationError

from .embeddings import EmbeddingError, embed_query, get_backend
from .models import Chunk

logger = logging.getLogger(__name__)

FILTER_KEYS = frozenset({"source", "tags", "document_ids"})


@dataclass(frozen=True)
class RetrievedChunk:
    """One retrieved chunk with what a citation needs.

    `score` is the fused reciprocal-rank score (higher is better; only comparable
    within one search). `similarity` is the cosine similarity between the query and
    the chunk, also for chunks found by full text only; None when the query could
    not be embedded or the chunk was embedded by another model. Use it to judge
    whether anything relevant was found at all (its scale depends on the model).
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


def _tsquery(query: str, *, any_term: bool) -> RawSQL:
    config = settings.KNOWLEDGE_TEXT_SEARCH_CONFIG
    # websearch_to_tsquery parses quotes and stems; negation is dropped (customers do not
    # write search operators); for `any_term`, '&' becomes '|'. The query is a parameter.
    if any_term:
        return RawSQL(
            "to_tsquery(%s::regconfig,"
            " replace(replace(websearch_to_tsquery(%s::regconfig, %s)::text, '!', ''), ' & ', ' | '))",
            (config, config, query),
            output_field=SearchQueryField(),
        )
    return RawSQL(
        "to_tsquery(%s::regconfig, replace(websearch_to_tsquery(%s::regconfig, %s)::text, '!', ''))",
        (config, config, query),
        output_field=SearchQueryField(),
    )


def _ranked_matches(
    tsquery: RawSQL, *, limit: int, filters: dict[str, Any] | None, exclude: set[int]
) -> list[tuple[int, float]]:
    matches = Func(
        F("search_vector"), tsquery, arg_joiner=" @@ ", template="(%(expressions)s)", output_field=BooleanField()
    )
    qs = _filtered(filters).annotate(matched=matches).filter(matched=True)
    if exclude:
        qs = qs.exclude(id__in=exclude)
    return list(
        qs.annotate(rank=SearchRank(F("search_vector"), tsquery, normalization=1))
        .order_by("-rank", "id")
        .values_list("id", "rank")[:limit]
    )


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
    with hnsw_search_settings(limit=limit, filtered=bool(filters)):
        rows = list(vector_queryset(query_vector=query_vector, model=model, limit=limit, filters=filters))
    rows.sort(key=lambda row: (row[1], row[0]))  # relaxed_order may return near-ties out of order
    return rows


def text_candidates(*, query: str, limit: int, filters: dict[str, Any] | None = None) -> list[tuple[int, float]]:
    """(chunk id, ts_rank), best first: chunks with every query term, then chunks with any.

    The strict pass is selective (cheap on a large knowledge base); the any-term pass
    runs only when it leaves room, because a question rarely repeats every word of
    its answer.
    """
    rows = _ranked_matches(_tsquery(query, any_term=False), limit=limit, filters=filters, exclude=set())
    if len(rows) < limit:
        seen = {chunk_id for chunk_id, _ in rows}
        rows += _ranked_matches(_tsquery(query, any_term=True), limit=limit - len(rows), filters=filters, exclude=seen)
    return rows


def knowledge_search(*, query: str, k: int = 5, filters: dict[str, Any] | None = None) -> list[RetrievedChunk]:
    """The `k` best chunks for `query`, best first (hybrid: vector + full text, reciprocal rank fusion)."""
    query = " ".join(query.split())
    if not query or k <= 0:
        return []
    limit = max(settings.KNOWLEDGE_SEARCH_CANDIDATES, k)
    rrf_k = settings.KNOWLEDGE_RRF_K

    vector_rows: list[tuple[int, float]] = []
    backend = get_backend()
    query_vector = None
    try:
        query_vector = embed_query(query, backend=backend)
    except EmbeddingError as exc:
        logger.warning("query embedding failed, full-text search only: %s", exc)
    else:
        vector_rows = vector_candidates(query_vector=query_vector, model=backend.name, limit=limit, filters=filters)
    text_rows = text_candidates(query=query, limit=limit, filters=filters)
    return fuse(
        vector_rows=vector_rows,
        text_rows=text_rows,
        k=k,
        rrf_k=rrf_k,
        query_vector=query_vector,
        model=backend.name,
    )


def fuse(
    *,
    vector_rows: list[tuple[int, float]],
    text_rows: list[tuple[int, float]],
    k: int,
    rrf_k: int,
    query_vector: Any = None,
    model: str = "",
) -> list[RetrievedChunk]:
    """Reciprocal rank fusion, then the winners loaded. With `query_vector`, chunks found by
    full text only also get their cosine similarity (when embedded by `model`)."""
    scores: dict[int, float] = {}
    vector_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(vector_rows, start=1)}
    text_rank = {chunk_id: rank for rank, (chunk_id, _) in enumerate(text_rows, start=1)}
    for ranks in (vector_rank, text_rank):
        for chunk_id, rank in ranks.items():
            scores[chunk_id] = scores.get(chunk_id, 0.0) + 1.0 / (rrf_k + rank)
    best = sorted(scores, key=lambda cid: (-scores[cid], vector_rank.get(cid, 10**9), cid))[:k]
    chunks = Chunk.objects.select_related("document__source").only(
        "id",
        "text",
        "heading_path",
        "document__id",
        "document__title",
        "document__uri",
        "document__source__name",
    )
    by_id = {chunk.pk: chunk for chunk in chunks.filter(pk__in=best)}
    distance = dict(vector_rows)
    text_only = [cid for cid in best if cid not in distance]
    if query_vector is not None and text_only:
        distance.update(
            Chunk.objects.filter(pk__in=text_only, document__embedding_model=model)
            .annotate(distance=CosineDistance("embedding", query_vector))
            .values_list("id", "distance")
        )
    results = []
    for chunk_id in best:
        chunk = by_id.get(chunk_id)
        if chunk is None:  # replaced by a re-index between the two queries
            continue
        results.append(
            RetrievedChunk(
                chunk_id=chunk.pk,
                text=chunk.text,
                score=scores[chunk_id],
                document_id=chunk.document.pk,
                document_title=chunk.document.title,
                source=chunk.document.uri,
                source_name=chunk.document.source.name,
                heading_path=tuple(chunk.heading_path),
                similarity=(1.0 - float(distance[chunk_id])) if chunk_id in distance else None,
                vector_rank=vector_rank.get(chunk_id),
                text_rank=text_rank.get(chunk_id),
            )
        )
    return results


__all__ = ["FILTER_KEYS", "RetrievedChunk", "fuse", "knowledge_search", "text_candidates", "vector_candidates"]
