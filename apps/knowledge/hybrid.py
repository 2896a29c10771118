"""One round trip per search: both retrievers, both scores and the best chunks' text in one SQL statement.

A hybrid search (what the FAQ specialist runs, filtered or not) is one `execute`:

1. transaction-local HNSW settings (`hnsw.ef_search`, and on pgvector >= 0.8
   `hnsw.iterative_scan = relaxed_order`, so a scan whose rows fail the
   "active document of the current model" filter keeps going instead of
   returning fewer rows);
2. one statement with
   - `s`: the corpus statistics and the fitted weight and threshold (the profile row);
   - `q`: the query's known terms and their IDF under the current statistics
     (PostgreSQL's own tokeniser, as at indexing);
   - `vec`: the `limit` nearest chunks over the HNSW index (under the filter, if any);
   - `nom` / `pool`: without a filter each query term nominates its `per_term` best
     postings (index-only scan of (term, impact desc)); with one, every posting of the
     query's terms among the filtered chunks (exact). The `POOL_FACTOR * limit` best
     nominees by partial sum go on;
   - `lex`: exact BM25 for every candidate of either retriever (one probe of
     the (term, chunk) covering index per term and candidate);
   - the candidates' documents, cosine distances (None for another embedding
     model's chunks), ranks in each retriever, the fused score, and for the `top`
     best by fused score their text, headings, title, URI and source name (no other
     chunk's text is read).

The result is what `selectors.hybrid_candidates` returns: the lexical ranking equals
`lexical.bm25_candidates` (the reference, which reads every posting) whenever no query
term has more than `per_term` postings (always, with a filter); above that a chunk in
no term's top list can be missed (the latency bench prints recall against the reference).

The settings, the statement and a restore of the previous settings travel as one
simple-protocol message, through a cursor that binds parameters client-side (`client_bound_cursor`: the
connection's own cursors bind on the server, DATABASE_SERVER_SIDE_BINDING, and the extended protocol takes
one statement per message): in autocommit they run as one implicit transaction, and inside a caller's
transaction its settings are left as they were.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.backends.postgresql.base import Cursor as ClientBindingCursor

from .lexical import K1, POOL_FACTOR, B
from .models import EMBEDDING_DIMENSIONS

# Exact cosine distance between a chunk's stored vector and the query's: what a search returns.
DISTANCE = "c.embedding <=> %(vector)s::vector"
# What the vector half orders by: the HNSW index's expression (the embedding cast to halfvec, model
# `Chunk`), so the scan walks the half-size graph; the rows it returns carry `DISTANCE`.
SCAN_DISTANCE = f"c.embedding::halfvec({EMBEDDING_DIMENSIONS}) <=> %(vector)s::halfvec({EMBEDDING_DIMENSIONS})"

_CONTRIBUTION = "q.idf * p.frequency * %(k1p)s / (p.frequency + %(k1)s * (1 - %(b)s + %(b)s * p.length / q.avg_length))"

_TERMS = (
    " s AS MATERIALIZED (SELECT chunk_count::float8 AS n,"
    " CASE WHEN chunk_count > 0 THEN total_length / chunk_count ELSE 0 END AS avg_length,"
    " vector_weight, answer_threshold FROM knowledge_retrievalprofile ORDER BY id LIMIT 1),"
    " q AS MATERIALIZED (SELECT t.id AS term_id, s.avg_length,"
    " ln(1 + (greatest(s.n, t.chunk_frequency) - t.chunk_frequency + 0.5) / (t.chunk_frequency + 0.5)) AS idf"
    " FROM knowledge_term t CROSS JOIN s"
    " WHERE t.lexeme = ANY(tsvector_to_array(to_tsvector(%(config)s::regconfig, %(query)s)))"
    " AND t.chunk_frequency > 0 AND s.avg_length > 0),"
)

# Which chunks the vector half may return: active documents of the current model ({docs}: the filter).
_VECTOR_UNFILTERED = (
    "c.document_id NOT IN (SELECT id FROM knowledge_document WHERE NOT is_active OR embedding_model <> %(model)s)"
)
_VECTOR_FILTERED = (
    "c.document_id IN (SELECT id FROM knowledge_document WHERE embedding_model = %(model)s AND id IN ({docs}))"
)
_VECTOR = (  # constant fragments only
    " vec AS MATERIALIZED (SELECT v.chunk_id, v.distance, row_number() OVER (ORDER BY v.distance, v.chunk_id) AS rank"  # noqa: S608
    " FROM (SELECT c.id AS chunk_id, " + DISTANCE + " AS distance FROM knowledge_chunk c"
    " WHERE {vector_filter} ORDER BY " + SCAN_DISTANCE + " LIMIT %(limit)s) v),"
)
_NO_VECTOR = " vec AS (SELECT NULL::bigint AS chunk_id, NULL::float8 AS distance, NULL::bigint AS rank WHERE false),"

# Nominating needs an order, not exact scores: a posting's stored impact (its saturation part under the
# average length when written) times the term's IDF is a sum of index columns, no per-posting arithmetic;
# the nominees are then scored exactly (`lex`).
_NOMINATE_BUDGET = (
    " nom AS (SELECT p.chunk_id, SUM(q.idf * p.impact) AS partial FROM q CROSS JOIN LATERAL"
    " (SELECT chunk_id, impact FROM knowledge_posting WHERE term_id = q.term_id"
    " ORDER BY impact DESC LIMIT %(per_term)s) p GROUP BY p.chunk_id),"
)
# With a filter every posting of the query's terms among the filtered chunks (chunk -> document
# through the (id) INCLUDE (document_id) index): exact BM25, as the reference.
_NOMINATE_FILTERED = (
    " nom AS (SELECT p.chunk_id, SUM(" + _CONTRIBUTION + ") AS partial FROM q"  # noqa: S608
    " JOIN knowledge_posting p ON p.term_id = q.term_id JOIN knowledge_chunk c ON c.id = p.chunk_id"
    " WHERE c.document_id IN ({docs}) GROUP BY p.chunk_id),"
)

_WEIGHT = "CASE WHEN %(vector)s::text IS NULL THEN 0 ELSE coalesce(s.vector_weight, 0.5) END"
_FUSED = (
    "w.weight * greatest(1 - coalesce(r.distance, 1), 0)"
    " + (1 - w.weight) * CASE WHEN w.max_bm25 > 0 THEN r.bm25 / w.max_bm25 ELSE 0 END"
)

_LEXICAL = (  # constant fragments only
    " pool AS (SELECT chunk_id FROM nom ORDER BY partial DESC, chunk_id LIMIT %(pool)s),"  # noqa: S608
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
    " row_number() OVER (ORDER BY info.score DESC NULLS LAST, info.chunk_id) END AS text_rank FROM info),"
    # Distances of BM25-only candidates are computed for the rows returned only, once (MATERIALIZED:
    # otherwise every later reference re-runs the subquery).
    " res AS MATERIALIZED (SELECT r.chunk_id, r.document_id, CASE WHEN r.comparable THEN coalesce(r.distance,"
    " (SELECT " + DISTANCE + " FROM knowledge_chunk c WHERE c.id = r.chunk_id)) END AS distance,"
    " coalesce(r.score, 0) AS bm25, r.vector_rank, r.text_rank"
    " FROM ranked r WHERE r.vector_rank IS NOT NULL OR r.text_rank <= %(limit)s),"
    " w AS MATERIALIZED (SELECT " + _WEIGHT + " AS weight, s.answer_threshold,"
    " (SELECT coalesce(sum(idf), 0) FROM q) * %(k1p)s AS max_bm25 FROM (SELECT 1) one LEFT JOIN s ON true),"
    " fused AS MATERIALIZED (SELECT r.*, row_number() OVER (ORDER BY " + _FUSED + " DESC,"
    " 1 - coalesce(r.distance, 2) DESC, r.chunk_id) AS position FROM res r CROSS JOIN w),"
    # The best `top` chunks' text and citation: the only chunk rows read whole.
    " best AS MATERIALIZED (SELECT f.chunk_id, c.text, c.heading_path, d.title, d.uri, ks.name AS source_name"
    " FROM fused f JOIN knowledge_chunk c ON c.id = f.chunk_id JOIN knowledge_document d ON d.id = c.document_id"
    " JOIN knowledge_knowledgesource ks ON ks.id = d.source_id WHERE f.position <= %(top)s)"
    " SELECT f.chunk_id, f.document_id, f.distance, f.bm25, f.vector_rank, f.text_rank, w.max_bm25, w.weight,"
    " w.answer_threshold, b.text, b.heading_path, b.title, b.uri, b.source_name"
    " FROM fused f CROSS JOIN w LEFT JOIN best b ON b.chunk_id = f.chunk_id ORDER BY f.position"
)


def statement(*, vector: bool, document_filter: str | None) -> str:
    """The hybrid (or, without a query vector, lexical-only) statement; `document_filter` is SQL selecting
    the ids of the documents a filtered search may return (composed by the caller, quoted by psycopg)."""
    parts = ["WITH", _TERMS]
    if vector:
        vector_filter = _VECTOR_FILTERED.format(docs=document_filter) if document_filter else _VECTOR_UNFILTERED
        parts.append(_VECTOR.replace("{vector_filter}", vector_filter))
    else:
        parts.append(_NO_VECTOR)
    parts.append(_NOMINATE_FILTERED.format(docs=document_filter) if document_filter else _NOMINATE_BUDGET)
    parts.append(_LEXICAL)
    return "".join(parts)


HYBRID_SQL = statement(vector=True, document_filter=None)
LEXICAL_SQL = statement(vector=False, document_filter=None)

# The unfiltered hybrid statement (the FAQ specialist's search) as a PL/pgSQL function, created by
# migration 0006: PL/pgSQL keeps its plan for the session, and the function's `plan_cache_mode` makes
# it a generic plan (the query, its vector and the limits are parameters), so a search no longer plans
# the statement: 1.35 ms of PostgreSQL CPU per search at 100k chunks (12.35 -> 11.00 ms, interleaved,
# same results). The vector arrives typed (a text parameter would be parsed again for every distance).
# `tests/knowledge/test_search.py` checks the database's function against `function_body()`: a change
# to the statement needs a migration that replaces the function.
FUNCTION_NAME = "knowledge_hybrid_search"
FUNCTION_ARGS = (
    ("config", "text"),
    ("query", "text"),
    ("vector", "vector"),
    ("model", "text"),
    ("limit", "integer"),
    ("per_term", "integer"),
    ("pool", "integer"),
    ("k1", "double precision"),
    ("k1p", "double precision"),
    ("b", "double precision"),
    ("top", "integer"),
)
FUNCTION_RESULT = (
    "chunk_id bigint, document_id bigint, distance double precision, bm25 double precision,"
    " vector_rank bigint, text_rank bigint, max_bm25 double precision, weight double precision,"
    " answer_threshold double precision, text text, heading_path character varying[], title character varying,"
    " uri character varying, source_name character varying"
)
FUNCTION_CALL = (  # constant fragments only
    f"SELECT * FROM {FUNCTION_NAME}("  # noqa: S608
    + ", ".join(f"%({name})s::{kind}" if kind == "vector" else f"%({name})s" for name, kind in FUNCTION_ARGS)
    + ")"
)


def function_body() -> str:
    """HYBRID_SQL with the function's parameters (`p_<name>`) in place of the statement's."""
    sql = HYBRID_SQL.replace("%(vector)s::vector", "p_vector").replace("%(vector)s::text", "p_vector")
    for name, _ in FUNCTION_ARGS:
        sql = sql.replace(f"%({name})s", f"p_{name}")
    return "\n#variable_conflict use_column\nBEGIN\nRETURN QUERY" + sql.removeprefix("WITH").join((" WITH", ";\nEND\n"))


def function_sql() -> str:
    """CREATE OR REPLACE of the function (what migration 0006 holds, frozen)."""
    args = ", ".join(f"p_{name} {kind}" for name, kind in FUNCTION_ARGS)
    return (
        f"CREATE OR REPLACE FUNCTION {FUNCTION_NAME}({args}) RETURNS TABLE({FUNCTION_RESULT})"
        f" LANGUAGE plpgsql STABLE SET plan_cache_mode = force_generic_plan AS $body${function_body()}$body$"
    )


@dataclass(frozen=True)
class LoadedChunk:
    """What a result needs of a chunk beyond its scores (read for the best `top` chunks only)."""

    text: str
    heading_path: tuple[str, ...]
    document_title: str
    source: str
    source_name: str


@dataclass(frozen=True)
class CandidateRow:
    chunk_id: int
    document_id: int
    distance: float | None
    bm25: float
    vector_rank: int | None
    text_rank: int | None
    loaded: LoadedChunk | None = None


@dataclass(frozen=True)
class SearchRows:
    rows: tuple[CandidateRow, ...]
    # (k1 + 1) * sum of the query terms' IDF: the BM25 score no chunk reaches.
    max_bm25: float
    # The profile's fusion weight (0 without a query vector) and answer threshold; None: no profile yet.
    vector_weight: float | None = None
    answer_threshold: float | None = None


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
    """(setting, value) sent with every vector search; None: the value is per search."""
    found: list[tuple[str, str | None]] = [("hnsw.ef_search", None)]
    if pgvector_version() >= (0, 8):
        found.append(("hnsw.iterative_scan", "relaxed_order"))
    # The vector part's filter (active documents of this model) makes the planner guess half the
    # chunks pass, and under ~30k chunks it then prefers reading every chunk and sorting: measured
    # 40 ms against under 2 ms for the index at 10k. No other part of the statement has a choice
    # between sorting and not, so forbidding the sort path only pins the vector part to the index.
    # A filtered search leaves the choice to the planner (None below): a selective filter makes
    # reading its few chunks and sorting them cheaper than the index.
    found.append(("enable_sort", "off"))
    return found


def hnsw_settings_sql(*, limit: int, ef_search: int | None = None, filtered: bool = False) -> tuple[str, list[Any]]:
    """`SELECT set_config(...)` for the scan settings (transaction-local), saving the previous values
    in `knowledge.*` placeholders for `hnsw_restore_sql`. The `'[0]'::vector` constant is folded at
    planning, which loads pgvector (and defines its settings) in a fresh session first."""
    ef = str(max(ef_search or settings.KNOWLEDGE_HNSW_EF_SEARCH, limit))
    parts = ["SELECT '[0]'::vector"]
    params: list[Any] = []
    for name, value in _settings():
        saved = "knowledge." + name.replace(".", "_")
        if name == "enable_sort" and filtered:
            value = "on"
        parts.append(f"set_config('{saved}', current_setting('{name}'), true), set_config('{name}', %s, true)")
        params.append(value if value is not None else ef)
    return ", ".join(parts), params


def hnsw_restore_sql() -> str:
    return "SELECT " + ", ".join(
        f"set_config('{name}', current_setting('knowledge.{name.replace('.', '_')}'), true)" for name, _ in _settings()
    )


@contextmanager
def client_bound_cursor() -> Iterator[Any]:
    """A cursor of the default connection that binds parameters client-side, so several statements can travel in
    one simple-protocol message; wrapped as Django wraps its own (execute wrappers and query logging apply)."""
    connection.ensure_connection()
    with connection._prepare_cursor(ClientBindingCursor(connection.connection)) as cursor:
        yield cursor


def _execute_with_hnsw_settings(
    cursor: Any, sql: str, params: dict[str, Any], *, limit: int, ef_search: int | None, filtered: bool = False
) -> list:
    """Settings, the statement and the restore in one simple-protocol message (`cursor` from `client_bound_cursor`);
    inside a caller's transaction its settings are left as they were."""
    settings_sql, settings_params = hnsw_settings_sql(limit=limit, ef_search=ef_search, filtered=filtered)
    prefix = connection.ops.compose_sql(settings_sql, settings_params).replace("%", "%%")
    cursor.execute(prefix + "; " + sql + "; " + hnsw_restore_sql(), params)
    cursor.nextset()
    return cursor.fetchall()


def vector_literal(vector: Sequence[float]) -> str:
    # `tolist()` gives the same Python floats as `float(x)` per element, without a Python call per element.
    return "[" + ",".join(map(str, np.asarray(vector, dtype=np.float64).tolist())) + "]"


def search_params(
    *,
    query: str,
    limit: int,
    model: str = "",
    query_vector: Any = None,
    top: int = 0,
) -> dict[str, Any]:
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
        "top": top,
    }


def compose(sql: str, params: Sequence[Any]) -> str:
    """An ORM statement with its parameters quoted in (by psycopg), `%` kept literal for the next format."""
    return connection.ops.compose_sql(sql, params).replace("%", "%%")


def search_rows(
    *,
    query: str,
    limit: int,
    model: str = "",
    query_vector: Any = None,
    document_filter: tuple[str, Sequence[Any]] | None = None,
    top: int = 0,
) -> SearchRows:
    """Both retrievers' candidates with both scores, and the text of the `top` best by fused score, in one
    round trip. `document_filter`: (SQL selecting document ids, params) of a filtered search."""
    params = search_params(query=query, limit=limit, model=model, query_vector=query_vector, top=top)
    docs = compose(*document_filter) if document_filter is not None else None
    if query_vector is not None and docs is None:
        sql = FUNCTION_CALL
    else:
        sql = statement(vector=query_vector is not None, document_filter=docs)
    with client_bound_cursor() as cursor:
        if query_vector is None:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        else:
            fetched = _execute_with_hnsw_settings(
                cursor, sql, params, limit=limit, ef_search=None, filtered=document_filter is not None
            )
    rows = tuple(_candidate_row(row) for row in fetched)
    if not fetched:
        return SearchRows(rows=(), max_bm25=0.0)
    first = fetched[0]
    return SearchRows(
        rows=rows,
        max_bm25=float(first[6]),
        vector_weight=float(first[7]) if first[7] is not None else None,
        answer_threshold=float(first[8]) if first[8] is not None else None,
    )


def _candidate_row(row: Sequence[Any]) -> CandidateRow:
    chunk_id, document_id, distance, bm25, vector_rank, text_rank = row[:6]
    text, headings, title, uri, source_name = row[9:14]
    return CandidateRow(
        chunk_id=chunk_id,
        document_id=document_id,
        distance=float(distance) if distance is not None else None,
        bm25=float(bm25),
        vector_rank=int(vector_rank) if vector_rank is not None else None,
        text_rank=int(text_rank) if text_rank is not None else None,
        loaded=LoadedChunk(
            text=text, heading_path=tuple(headings or ()), document_title=title, source=uri, source_name=source_name
        )
        if text is not None
        else None,
    )


VECTOR_SQL = (  # constant fragments only
    "SELECT c.id, " + DISTANCE + " AS distance FROM knowledge_chunk c"  # noqa: S608
    " WHERE {vector_filter} ORDER BY " + SCAN_DISTANCE + " LIMIT %(limit)s"
)


def vector_statement(*, document_filter: str | None = None) -> str:
    """The vector half alone (see `statement` for `document_filter`)."""
    vector_filter = _VECTOR_FILTERED.format(docs=document_filter) if document_filter else _VECTOR_UNFILTERED
    return VECTOR_SQL.replace("{vector_filter}", vector_filter)


def vector_rows(
    *,
    query_vector: Any,
    model: str,
    limit: int,
    ef_search: int | None = None,
    document_filter: tuple[str, Sequence[Any]] | None = None,
) -> list[tuple[int, float]]:
    """(chunk id, cosine distance) of the `limit` nearest chunks of active documents of `model` (under the
    filter, if any), in one round trip (the scan settings and the scan in one message). Order as the scan
    returned it."""
    params = {"vector": vector_literal(query_vector), "model": model, "limit": limit}
    sql = vector_statement(document_filter=compose(*document_filter) if document_filter is not None else None)
    with client_bound_cursor() as cursor:
        fetched = _execute_with_hnsw_settings(
            cursor, sql, params, limit=limit, ef_search=ef_search, filtered=document_filter is not None
        )
    return [(chunk_id, float(distance)) for chunk_id, distance in fetched]
