"""BM25 inside PostgreSQL: field-weighted postings, corpus statistics, and scoring.

Tokenising is PostgreSQL's own text search (`to_tsvector` with
`KNOWLEDGE_TEXT_SEARCH_CONFIG`: stemming, stop words), the same for chunks and
queries. Each chunk is indexed as one pseudo-document in which every field is
repeated by its weight (BM25 over a weighted bag of words):

    title (the document's) x2, headings x2, an FAQ question heading x3, body x1

so a term's `frequency` in a chunk is sum(weight_f * tf_f) and the chunk's
`length` is sum(weight_f * len_f). One `Posting` row per (term, chunk) holds
both; `Term.chunk_frequency` (df) and `RetrievalProfile` (N, total length) are
updated in the transaction that swaps a document's chunks, so IDF and the
average length are always the corpus's current ones. Scoring (Okapi BM25,
Lucene's IDF, which is never negative):

    score(q, c) = sum over distinct query terms t of
        idf(t) * f(t,c) * (k1 + 1) / (f(t,c) + k1 * (1 - b + b * length(c) / avg_length))
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

computed at query time from the postings of the query's terms, so no stored
weight ever goes stale when the corpus grows. This module's `bm25_candidates` reads
every posting of the query's terms (the reference, and filtered searches). The
unfiltered search (`apps.knowledge.hybrid`) bounds the cost by impact ordering:
each posting also stores its term's saturation part under the average length when
it was written (`impact`), each query term nominates only its
`KNOWLEDGE_BM25_POSTINGS_PER_TERM` best postings (an index-only scan of (term,
impact desc)), and the best `POOL_FACTOR * limit` nominees by partial sum are then
scored exactly over every query term. Exact whenever no
query term occurs in more chunks than that (every shop help centre); above it, a
chunk that is in no term's top list can be missed (recall against exact BM25 is
printed by the latency bench). Filtered searches, and scoring given chunks, read
every posting of the query's terms (exact).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F

from .models import RetrievalProfile

# Goes into the index signature: changing the fields or their weights re-indexes on the next ingest.
LEXICAL_VERSION = 1
K1 = 1.2
B = 0.75
TITLE_WEIGHT = 2.0
HEADING_WEIGHT = 2.0
QUESTION_WEIGHT = 3.0
BODY_WEIGHT = 1.0
# Unfiltered searches score exactly the best POOL_FACTOR * limit nominees.
POOL_FACTOR = 3


@dataclass(frozen=True)
class ChunkFields:
    """What of a chunk is indexed, by field."""

    chunk_id: int
    title: str
    headings: tuple[str, ...]
    body: str

    def weighted_texts(self) -> list[tuple[float, str]]:
        texts = [(TITLE_WEIGHT, self.title)] if self.title else []
        path = [h for h in self.headings if h != self.title]
        for i, heading in enumerate(path):
            is_question = i == len(path) - 1 and heading.rstrip().endswith("?")
            texts.append((QUESTION_WEIGHT if is_question else HEADING_WEIGHT, heading))
        texts.append((BODY_WEIGHT, self.body))
        return [(w, t) for w, t in texts if t.strip()]


@dataclass(frozen=True)
class QueryTerm:
    term_id: int
    lexeme: str
    chunk_frequency: int
    idf: float


@dataclass(frozen=True)
class LexicalQuery:
    terms: tuple[QueryTerm, ...]
    chunk_count: int
    avg_length: float

    @property
    def max_score(self) -> float:
        """The score no chunk can reach (every term saturated): BM25 divided by it lies in [0, 1)."""
        return sum(t.idf for t in self.terms) * (K1 + 1)


def idf(*, chunk_count: int, chunk_frequency: int) -> float:
    return math.log(1.0 + (chunk_count - chunk_frequency + 0.5) / (chunk_frequency + 0.5))


def bm25_term_score(*, frequency: float, length: float, avg_length: float, term_idf: float) -> float:
    """One term's contribution (the formula the SQL below computes; tests and benchmarks use it)."""
    norm = K1 * (1 - B + B * length / avg_length) if avg_length > 0 else K1
    return term_idf * frequency * (K1 + 1) / (frequency + norm)


def profile_get() -> RetrievalProfile:
    profile = RetrievalProfile.objects.order_by("pk").first()
    return profile if profile is not None else RetrievalProfile.objects.get_or_create(pk=1)[0]


def _config() -> str:
    return settings.KNOWLEDGE_TEXT_SEARCH_CONFIG


def chunk_term_frequencies(fields: Sequence[ChunkFields]) -> dict[int, dict[str, float]]:
    """chunk id -> lexeme -> field-weighted frequency, tokenised by PostgreSQL in one query."""
    ids: list[int] = []
    weights: list[float] = []
    texts: list[str] = []
    for item in fields:
        for weight, text in item.weighted_texts():
            ids.append(item.chunk_id)
            weights.append(weight)
            texts.append(text)
    result: dict[int, dict[str, float]] = {item.chunk_id: {} for item in fields}
    if not texts:
        return result
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT f.chunk_id, l.lexeme, SUM(f.weight * cardinality(l.positions))"
            " FROM unnest(%s::bigint[], %s::float8[], %s::text[]) AS f(chunk_id, weight, body),"
            " LATERAL unnest(to_tsvector(%s::regconfig, f.body)) AS l"
            " GROUP BY f.chunk_id, l.lexeme",
            [ids, weights, texts, _config()],
        )
        for chunk_id, lexeme, frequency in cursor.fetchall():
            result[chunk_id][lexeme] = float(frequency)
    return result


def postings_write(fields: Sequence[ChunkFields]) -> None:
    """Index new chunks: postings, their lengths, document frequencies and corpus totals.

    Call inside the transaction that inserted the chunks. Terms are upserted in sorted
    order so concurrent indexing transactions lock them in the same order.
    """
    if not fields:
        return
    frequencies = chunk_term_frequencies(fields)
    lengths = {chunk_id: sum(terms.values()) for chunk_id, terms in frequencies.items()}
    df: dict[str, int] = defaultdict(int)
    for terms in frequencies.values():
        for lexeme in terms:
            df[lexeme] += 1
    lexemes = sorted(df)
    profile = profile_get()
    count = profile.chunk_count + len(fields)
    avg = (profile.total_length + sum(lengths.values())) / count if count else 0.0
    term_ids: dict[str, int] = {}
    with connection.cursor() as cursor:
        if lexemes:
            cursor.execute(
                "INSERT INTO knowledge_term (lexeme, chunk_frequency)"
                " SELECT * FROM unnest(%s::varchar[], %s::int[])"
                " ON CONFLICT (lexeme) DO UPDATE SET chunk_frequency = knowledge_term.chunk_frequency"
                " + EXCLUDED.chunk_frequency RETURNING lexeme, id",
                [lexemes, [df[lexeme] for lexeme in lexemes]],
            )
            term_ids = dict(cursor.fetchall())
        rows = [
            (
                term_ids[lexeme],
                chunk_id,
                frequency,
                lengths[chunk_id],
                bm25_term_score(frequency=frequency, length=lengths[chunk_id], avg_length=avg, term_idf=1.0),
            )
            for chunk_id, terms in frequencies.items()
            for lexeme, frequency in terms.items()
        ]
        if rows:
            cursor.execute(
                "INSERT INTO knowledge_posting (term_id, chunk_id, frequency, length, impact)"
                " SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::float8[], %s::float8[], %s::float8[])",
                [list(column) for column in zip(*rows, strict=True)],
            )
        cursor.execute(
            "UPDATE knowledge_chunk SET lexical_length = l.length"
            " FROM unnest(%s::bigint[], %s::float8[]) AS l(id, length) WHERE knowledge_chunk.id = l.id",
            [list(lengths), list(lengths.values())],
        )
    RetrievalProfile.objects.filter(pk=profile.pk).update(
        chunk_count=F("chunk_count") + len(fields), total_length=F("total_length") + sum(lengths.values())
    )


def postings_remove(chunk_ids: Sequence[int]) -> None:
    """Take chunks out of the statistics and delete their postings (before deleting the chunks)."""
    ids = list(chunk_ids)
    if not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(sum(lexical_length), 0) FROM knowledge_chunk WHERE id = ANY(%s)", [ids]
        )
        count, total = cursor.fetchone()
        cursor.execute(
            "WITH gone AS (DELETE FROM knowledge_posting WHERE chunk_id = ANY(%s) RETURNING term_id)"
            " UPDATE knowledge_term t SET chunk_frequency = t.chunk_frequency - g.n"
            " FROM (SELECT term_id, count(*) AS n FROM gone GROUP BY term_id ORDER BY term_id) g"
            " WHERE t.id = g.term_id",
            [ids],
        )
    profile = profile_get()
    RetrievalProfile.objects.filter(pk=profile.pk).update(
        chunk_count=F("chunk_count") - count, total_length=F("total_length") - float(total)
    )


def statistics_rebuild() -> None:
    """Recompute df, N and total length from the postings (repairs drift after out-of-band deletes)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE knowledge_term t SET chunk_frequency ="
            " (SELECT count(*) FROM knowledge_posting p WHERE p.term_id = t.id)"
        )
        cursor.execute("DELETE FROM knowledge_term WHERE chunk_frequency <= 0")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), coalesce(sum(lexical_length), 0) FROM knowledge_chunk")
        count, total = cursor.fetchone()
        if count:
            # Re-order postings under today's average length (their scores never depended on it).
            cursor.execute(
                "UPDATE knowledge_posting SET impact = frequency * %s / (frequency + %s * (1 - %s + %s * length / %s))",
                [K1 + 1, K1, B, B, float(total) / count],
            )
    profile = profile_get()
    RetrievalProfile.objects.filter(pk=profile.pk).update(chunk_count=count, total_length=float(total))


def lexical_query(query: str, *, profile: RetrievalProfile | None = None) -> LexicalQuery:
    """The query's known terms with their IDF under the current statistics (one query)."""
    profile = profile or profile_get()
    n = max(profile.chunk_count, 0)
    avg = profile.total_length / n if n else 0.0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.id, t.lexeme, t.chunk_frequency FROM knowledge_term t"
            " WHERE t.lexeme = ANY(tsvector_to_array(to_tsvector(%s::regconfig, %s))) AND t.chunk_frequency > 0"
            " ORDER BY t.chunk_frequency, t.id",
            [_config(), query],
        )
        rows = cursor.fetchall()
    terms = tuple(
        QueryTerm(term_id=tid, lexeme=lexeme, chunk_frequency=df, idf=idf(chunk_count=max(n, df), chunk_frequency=df))
        for tid, lexeme, df in rows
    )
    return LexicalQuery(terms=terms, chunk_count=n, avg_length=avg)


_CONTRIBUTION = "q.idf * p.frequency * %(k1p)s / (p.frequency + %(k1)s * (1 - %(b)s + %(b)s * p.length / %(avg)s))"
_QUERY_TERMS = "WITH q(term_id, idf) AS (SELECT * FROM unnest(%(ids)s::bigint[], %(idfs)s::float8[]))"
_ACTIVE = " JOIN knowledge_chunk c ON c.id = {alias}.chunk_id JOIN knowledge_document d ON d.id = c.document_id"


def _exact_sql(*, only: bool, extra_filter: str) -> str:
    """Every posting of every query term (the reference: filtered searches, scoring given chunks)."""
    only_sql = " AND p.chunk_id = ANY(%(only)s)" if only else ""
    # Only constant fragments and the ORM's own composed filter (quoted by psycopg) are formatted in.
    return (
        _QUERY_TERMS + ","  # noqa: S608
        f" s AS (SELECT p.chunk_id, SUM({_CONTRIBUTION}) AS score FROM knowledge_posting p"
        f" JOIN q ON q.term_id = p.term_id{only_sql} GROUP BY p.chunk_id)"
        " SELECT s.chunk_id, s.score FROM s" + _ACTIVE.format(alias="s") + f" WHERE d.is_active{extra_filter}"
        " ORDER BY s.score DESC, s.chunk_id LIMIT %(limit)s"
    )


def bm25_sql(
    *,
    lexical: LexicalQuery,
    limit: int,
    chunk_filter: tuple[str, Sequence[Any]] | None = None,
    chunk_ids: Sequence[int] | None = None,
) -> tuple[str, dict[str, Any]]:
    """The scoring statement and its parameters (see `bm25_candidates`)."""
    params: dict[str, Any] = {
        "ids": [t.term_id for t in lexical.terms],
        "idfs": [t.idf for t in lexical.terms],
        "k1": K1,
        "k1p": K1 + 1,
        "b": B,
        "avg": lexical.avg_length,
        "limit": limit,
    }
    extra = ""
    if chunk_filter is not None:
        filter_sql, filter_params = chunk_filter
        # The filter's SQL carries positional parameters: compose it to a literal (and keep its % literal).
        extra = " AND c.id IN (" + connection.ops.compose_sql(filter_sql, filter_params).replace("%", "%%") + ")"
    if chunk_ids is not None:
        params["only"] = list(chunk_ids)
    return _exact_sql(only=chunk_ids is not None, extra_filter=extra), params


def bm25_candidates(
    *,
    lexical: LexicalQuery,
    limit: int,
    chunk_filter: tuple[str, Sequence[Any]] | None = None,
    chunk_ids: Sequence[int] | None = None,
) -> list[tuple[int, float]]:
    """(chunk id, BM25 score), best first, among active documents' chunks: exact BM25 over every
    posting of the query's terms (the reference; unfiltered searches use the impact-bounded
    statement in `apps.knowledge.hybrid`, which returns the same ranking while no query term
    has more than `KNOWLEDGE_BM25_POSTINGS_PER_TERM` postings).

    `chunk_filter` is (SQL selecting chunk ids, params) from the caller's filters;
    `chunk_ids` scores exactly those chunks.
    """
    if not lexical.terms or lexical.avg_length <= 0:
        return []
    sql, params = bm25_sql(lexical=lexical, limit=limit, chunk_filter=chunk_filter, chunk_ids=chunk_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [(chunk_id, float(score)) for chunk_id, score in cursor.fetchall()]
