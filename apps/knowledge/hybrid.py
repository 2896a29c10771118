"""One round trip per search: both retrievers and both scores in a single SQL statement.

An unfiltered hybrid search (what the FAQ specialist runs) is one `execute`:

1. transaction-local HNSW settings (`hnsw.ef_search`, and on pgvector >= 0.8
   `hnsw.iterative_scan = relaxed_order`, so a scan whose rows fail the
   "active document of the current model" filter keeps going instead of
   returning fewer rows);
2. one statement with
   - `q`: the query's known terms and their IDF under the current statistics
     (PostgreSQL's own tokeniser, as at indexing);
   - `vec`: the `limit` nearest chunks over the HNSW index;
   - `nom` / `pool`: each query term nominates its `per_term` best postings
     (index-only scan of (term, impact desc)); the `POOL_FACTOR * limit` best
     nominees by partial sum go on;
   - `lex`: exact BM25 for every candidate of either retriever (one probe of
     the (term, chunk) covering index per term and candidate);
   - the candidates' documents, cosine distances (None for another embedding
     model's chunks) and ranks in each retriever.

The result is what `selectors.hybrid_candidates` returns: the lexical ranking equals
`lexical.bm25_candidates` (the reference, which reads every posting) whenever no query
term has more than `per_term` postings; above that a chunk in no term's top list can
be missed (the latency bench prints recall against the reference).

The settings, the statement and a restore of the previous settings travel as one
simple-protocol message (Django's psycopg backend binds parameters client-side): in
autocommit they run as one implicit transaction, and inside a caller's transaction its
settings are left as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection

from .lexical import K1, POOL_FACTOR, B

# Distance between a chunk's stored vector and the query's (cosine, over the HNSW index's expression).
DISTANCE = "c.embedding <=> %(vector)s::vector"

_CONTRIBUTION = "q.idf * p.frequency * %(k1p)s / (p.frequency + %(k1)s * (1 - %(b)s + %(b)s * p.length / q.avg_length))"

_TERMS = (
    " s AS (SELECT chunk_count::float8 AS n,"
    " CASE WHEN chunk_count > 0 THEN total_length / chunk_count ELSE 0 END AS avg_length"
    " FROM knowledge_retrievalprofile ORDER BY id LIMIT 1),"
    " q AS MATERIALIZED (SELECT t.id AS term_id, s.avg_length,"
    " ln(1 + (greatest(s.n, t.chunk_frequency) - t.chunk_frequency + 0.5) / (t.chunk_frequency + 0.5)) AS idf"
    " FROM knowledge_term t CROSS JOIN s"
    " WHERE t.lexeme = ANY(tsvector_to_array(to_tsvector(%(config)s::regconfig, %(query)s)))"
    " AND t.chunk_frequency > 0 AND s.avg_length > 0),"
)

_VECTOR = (  # constant fragments only
    " vec AS MATERIALIZED (SELECT v.chunk_id, v.distance, row_number() OVER (ORDER BY v.distance, v.chunk_id) AS rank"  # noqa: S608
    " FROM (SELECT c.id AS chunk_id, " + DISTANCE + " AS distance FROM knowledge_chunk c"
    " WHERE c.document_id NOT IN (SELECT id FROM knowledge_document WHERE NOT is_active"
    " OR embedding_model <> %(model)s)"
    " ORDER BY " + DISTANCE + " LIMIT %(limit)s) v),"
)
_NO_VECTOR = " vec AS (SELECT NULL::bigint AS chunk_id, NULL::float8 AS distance, NULL::bigint AS rank WHERE false),"

_LEXICAL = (  # constant fragments only
    " nom AS (SELECT p.chunk_id, SUM(" + _CONTRIBUTION + ") AS partial FROM q CROSS JOIN LATERAL"  # noqa: S608
    " (SELECT chunk_id, frequency, length FROM knowledge_posting WHERE term_id = q.term_id"
    " ORDER BY impact DESC LIMIT %(per_term)s) p GROUP BY p.chunk_id),"
    " pool AS (SELECT chunk_id FROM nom ORDER BY partial DESC, chunk_id LIMIT %(pool)s),"
    " cand AS (SELECT chunk_id FROM pool UNION SELECT chunk_id FROM vec),"
    # One probe of the (term, chunk) index per term and candidate (OFFSET 0 keeps the planner from
    # turning it into a scan of every posting of the query's terms).
    " lex AS (SELECT cand.chunk_id, SUM(" + _CONTRIBUTION + ") AS score FROM cand CROSS JOIN q CROSS JOIN LATERAL"
    " (SELECT frequency, length FROM knowledge_posting WHERE term_id = q.term_id AND chunk_id = cand.chunk_id"
    " OFFSET 0) p GROUP BY cand.chunk_id),"
    # Documents through the (id) INCLUDE (document_id) index: no chunk row is read here.
    " info AS (SELECT cand.chunk_id, c.document_id, d.embedding_model = %(model)s AS comparable, lex.score,"
    " vec.rank AS vector_rank, vec.distance FROM cand"
    " JOIN knowledge_chunk c ON c.id = cand.chunk_id JOIN knowledge_document d ON d.id = c.document_id"
    " LEFT JOIN lex ON lex.chunk_id = cand.chunk_id LEFT JOIN vec ON vec.chunk_id = cand.chunk_id"
    " WHERE d.is_active),"
    " ranked AS (SELECT info.*, CASE WHEN info.score > 0 THEN"
    " row_number() OVER (ORDER BY info.score DESC NULLS LAST, info.chunk_id) END AS text_rank FROM info)"
    # Distances of BM25-only candidates are computed for the rows returned only.
    " SELECT r.chunk_id, r.document_id, CASE WHEN r.comparable THEN coalesce(r.distance,"
    " (SELECT " + DISTANCE + " FROM knowledge_chunk c WHERE c.id = r.chunk_id)) END,"
    " coalesce(r.score, 0), r.vector_rank, r.text_rank, (SELECT coalesce(sum(idf), 0) FROM q)"
    " FROM ranked r WHERE r.vector_rank IS NOT NULL OR r.text_rank <= %(limit)s"
)

HYBRID_SQL = "WITH" + _TERMS + _VECTOR + _LEXICAL
LEXICAL_SQL = "WITH" + _TERMS + _NO_VECTOR + _LEXICAL


@dataclass(frozen=True)
class CandidateRow:
    chunk_id: int
    document_id: int
    distance: float | None
    bm25: float
    vector_rank: int | None
    text_rank: int | None


@dataclass(frozen=True)
class SearchRows:
    rows: tuple[CandidateRow, ...]
    # (k1 + 1) * sum of the query terms' IDF: the BM25 score no chunk reaches.
    max_bm25: float


_VECTOR_VERSION: dict[str, tuple[int, ...]] = {}


def pgvector_version() -> tuple[int, ...]:
    """The installed pgvector version (read once per process and database)."""
    key = str(connection.settings_dict.get("NAME"))
    if key not in _VECTOR_VERSION:
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
            row = cursor.fetchone()
        version = row[0] if row else "0"
        _VECTOR_VERSION[key] = tuple(int(part) for part in version.split(".") if part.isdigit())
    return _VECTOR_VERSION[key]


def _settings() -> list[tuple[str, str | None]]:
    """(setting, value) sent with every unfiltered vector search; None: the value is per search."""
    found: list[tuple[str, str | None]] = [("hnsw.ef_search", None)]
    if pgvector_version() >= (0, 8):
        found.append(("hnsw.iterative_scan", "relaxed_order"))
    # The vector part's filter (active documents of this model) makes the planner guess half the
    # chunks pass, and under ~30k chunks it then prefers reading every chunk and sorting: measured
    # 40 ms against under 2 ms for the index at 10k. No other part of the statement has a choice
    # between sorting and not, so forbidding the sort path only pins the vector part to the index.
    found.append(("enable_sort", "off"))
    return found


def hnsw_settings_sql(*, limit: int, ef_search: int | None = None) -> tuple[str, list[Any]]:
    """`SELECT set_config(...)` for the scan settings (transaction-local), saving the previous values
    in `knowledge.*` placeholders for `hnsw_restore_sql`. The `'[0]'::vector` constant is folded at
    planning, which loads pgvector (and defines its settings) in a fresh session first."""
    ef = str(max(ef_search or settings.KNOWLEDGE_HNSW_EF_SEARCH, limit))
    parts = ["SELECT '[0]'::vector"]
    params: list[Any] = []
    for name, value in _settings():
        saved = "knowledge." + name.replace(".", "_")
        parts.append(f"set_config('{saved}', current_setting('{name}'), true), set_config('{name}', %s, true)")
        params.append(value if value is not None else ef)
    return ", ".join(parts), params


def hnsw_restore_sql() -> str:
    return "SELECT " + ", ".join(
        f"set_config('{name}', current_setting('knowledge.{name.replace('.', '_')}'), true)" for name, _ in _settings()
    )


def _execute_with_hnsw_settings(
    cursor: Any, sql: str, params: dict[str, Any], *, limit: int, ef_search: int | None
) -> list:
    """Settings, the statement and the restore in one simple-protocol message (client-side binding);
    inside a caller's transaction its settings are left as they were."""
    settings_sql, settings_params = hnsw_settings_sql(limit=limit, ef_search=ef_search)
    prefix = connection.ops.compose_sql(settings_sql, settings_params).replace("%", "%%")
    cursor.execute(prefix + "; " + sql + "; " + hnsw_restore_sql(), params)
    cursor.nextset()
    return cursor.fetchall()


def vector_literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(str(float(x)) for x in vector) + "]"


def search_params(*, query: str, limit: int, model: str = "", query_vector: Any = None) -> dict[str, Any]:
    per_term = settings.KNOWLEDGE_BM25_POSTINGS_PER_TERM
    return {
        "config": settings.KNOWLEDGE_TEXT_SEARCH_CONFIG,
        "query": query,
        "vector": vector_literal(query_vector) if query_vector is not None else None,
        "model": model,
        "limit": limit,
        "per_term": per_term,
        "pool": POOL_FACTOR * limit,
        "k1": K1,
        "k1p": K1 + 1,
        "b": B,
    }


def search_rows(*, query: str, limit: int, model: str = "", query_vector: Any = None) -> SearchRows:
    """Both retrievers' candidates with both scores, in one round trip (no filters)."""
    params = search_params(query=query, limit=limit, model=model, query_vector=query_vector)
    with connection.cursor() as cursor:
        if query_vector is None:
            cursor.execute(LEXICAL_SQL, params)
            fetched = cursor.fetchall()
        else:
            fetched = _execute_with_hnsw_settings(cursor, HYBRID_SQL, params, limit=limit, ef_search=None)
    rows = tuple(
        CandidateRow(
            chunk_id=chunk_id,
            document_id=document_id,
            distance=float(distance) if distance is not None else None,
            bm25=float(bm25),
            vector_rank=int(vector_rank) if vector_rank is not None else None,
            text_rank=int(text_rank) if text_rank is not None else None,
        )
        for chunk_id, document_id, distance, bm25, vector_rank, text_rank, _ in fetched
    )
    idf_sum = float(fetched[0][6]) if fetched else 0.0
    return SearchRows(rows=rows, max_bm25=idf_sum * (K1 + 1))


VECTOR_SQL = (  # constant fragments only
    "SELECT c.id, " + DISTANCE + " AS distance FROM knowledge_chunk c"  # noqa: S608
    " WHERE c.document_id NOT IN (SELECT id FROM knowledge_document WHERE NOT is_active"
    " OR embedding_model <> %(model)s) ORDER BY " + DISTANCE + " LIMIT %(limit)s"
)


def vector_rows(*, query_vector: Any, model: str, limit: int, ef_search: int | None = None) -> list[tuple[int, float]]:
    """(chunk id, cosine distance) of the `limit` nearest chunks of active documents of `model`, in one
    round trip (HNSW settings and the scan in one message). Order as the scan returned it."""
    params = {"vector": vector_literal(query_vector), "model": model, "limit": limit}
    with connection.cursor() as cursor:
        fetched = _execute_with_hnsw_settings(cursor, VECTOR_SQL, params, limit=limit, ef_search=ef_search)
    return [(chunk_id, float(distance)) for chunk_id, distance in fetched]
