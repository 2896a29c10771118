"""Query latency at 1k, 10k and 100k chunks, and HNSW recall@10 against exact search.

Corpus: BENCH_REAL_TEXTS (default 2,000) distinct shop-support sentences embedded with the local
MiniLM model (real embeddings). Larger sizes add filler: each filler vector is
a normalised blend of two real embeddings plus a little noise, with the two
texts joined, so it lies where real text lies (never uniform random vectors).
Rows are bulk-loaded with the HNSW index dropped (then built, timed); their BM25
postings (title x2 + body, as `lexical.postings_write` writes them) are computed
set-based in SQL, then VACUUM ANALYZE.

Queries: real questions (the public FAQ set's questions when present, else
generated ones), embedded by the model. Reported separately:
- embedding one query with the local model (uncached) and through the cache;
- search with a ready vector: vector candidates (HNSW), BM25 candidates, and
  hybrid (both, completed with each other's scores, fused, the chunks loaded: what
  `knowledge_search` runs after embedding);
- recall@10 of the HNSW index (ef_search from settings, and 40) against exact
  (sequential scan) top-10, over the same queries; recall@10 of BM25 under the
  postings budget against unbudgeted (exact) BM25;
- table and index sizes, so the cost at 1M chunks can be extrapolated.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("LOG_LEVEL", "WARNING")
django.setup()

import numpy as np  # noqa: E402
from _knowledge import faq_path, p50_p95, reset_knowledge  # noqa: E402
from _synthetic import questions as synthetic_questions  # noqa: E402
from _synthetic import sentences  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import F  # noqa: E402
from pgvector.django import HnswIndex  # noqa: E402
from pgvector.psycopg import register_vector  # noqa: E402

from apps.knowledge.embeddings import embed_texts, get_backend  # noqa: E402
from apps.knowledge.hybrid import (  # noqa: E402
    HYBRID_SQL,
    hnsw_settings_sql,
    search_params,
    vector_literal,
    vector_rows,
    vector_statement,
)
from apps.knowledge.lexical import (  # noqa: E402
    BODY_WEIGHT,
    K1,
    TITLE_WEIGHT,
    B,
    bm25_candidates,
    lexical_query,
    profile_get,
)
from apps.knowledge.models import Chunk, Document, KnowledgeSource, RetrievalProfile  # noqa: E402
from apps.knowledge.selectors import (  # noqa: E402
    search_embedded,
    text_candidates,
    vector_candidates,
)

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,100000").split(",")]
REAL_TEXTS = int(os.environ.get("BENCH_REAL_TEXTS", "2000"))
QUERIES = int(os.environ.get("BENCH_QUERIES", "100"))
CHUNKS_PER_DOC = 100


HNSW_INDEX = next(i for i in Chunk._meta.indexes if isinstance(i, HnswIndex))


def _hnsw_sql() -> tuple[str, int, int]:
    """The product's HNSW index (from the model, so the bench measures what migrations build), with
    BENCH_HNSW_M / BENCH_HNSW_EF_CONSTRUCTION overriding its build parameters for experiments."""
    index = HNSW_INDEX
    m = int(os.environ.get("BENCH_HNSW_M", index.m))
    ef_construction = int(os.environ.get("BENCH_HNSW_EF_CONSTRUCTION", index.ef_construction))
    with connection.schema_editor(collect_sql=True) as editor:
        sql = str(index.create_sql(Chunk, editor))
    sql = re.sub(r"m = \d+", f"m = {m}", sql)
    sql = re.sub(r"ef_construction = \d+", f"ef_construction = {ef_construction}", sql)
    return sql, m, ef_construction


# BENCH_KEEP=1 keeps the corpus after the run and reuses it in the next (same BENCH_REAL_TEXTS);
# BENCH_REBUILD_HNSW=1 rebuilds the vector index of a kept corpus (new m / ef_construction).
KEEP = os.environ.get("BENCH_KEEP") == "1"
REBUILD_HNSW = os.environ.get("BENCH_REBUILD_HNSW") == "1"
EF_VALUES = [int(v) for v in os.environ.get("BENCH_EF_VALUES", "40,80,120").split(",")]


def _queries() -> list[str]:
    path = faq_path()
    if path.is_file():
        found = [p["question"] for p in json.loads(path.read_text(encoding="utf-8"))]
        return (found + synthetic_questions(QUERIES))[:QUERIES]
    return synthetic_questions(QUERIES)


def _load(rows: list[tuple[int, int, str, np.ndarray]]) -> None:
    conn = connection.connection
    register_vector(conn)
    with conn.cursor() as cur:
        copy_sql = (
            "COPY knowledge_chunk (document_id, position, heading_path, text, token_count, embedding, lexical_length) "
            "FROM STDIN WITH (FORMAT BINARY)"
        )
        with cur.copy(copy_sql) as copy:
            copy.set_types(["int8", "int4", "varchar[]", "text", "int4", "vector", "float8"])
            for document_id, position, text, vector in rows:
                copy.write_row((document_id, position, [], text, len(text.split()), vector, 0.0))


def _grow(target: int, have: int, real: list[tuple[str, np.ndarray]], rng: np.random.Generator, model: str) -> float:
    """Add chunks up to `target` with indexes dropped; rebuild them; return seconds for the index builds."""
    source = KnowledgeSource.objects.get(name="bench-latency")
    with connection.cursor() as cur:
        cur.execute(f"DROP INDEX IF EXISTS {HNSW_INDEX.name}")
    rows = []
    for i in range(have, target):
        if i < len(real):
            text, vector = real[i]
        else:
            a, b = rng.integers(0, len(real), size=2)
            mix = 0.6 * real[a][1] + 0.4 * real[b][1] + rng.normal(0, 0.02, size=384).astype(np.float32)
            vector = (mix / np.linalg.norm(mix)).astype(np.float32)
            text = f"{real[a][0]} {real[b][0]}"
        doc_index = i // CHUNKS_PER_DOC
        if i % CHUNKS_PER_DOC == 0:
            Document.objects.get_or_create(  # a kept corpus may hold it from an interrupted run
                source=source,
                uri=f"bench/{doc_index}",
                defaults={
                    "title": f"Bench document {doc_index}",
                    "format": "text",
                    "raw_content": "(bench)",
                    "content_hash": f"bench-{doc_index}",
                    "status": "ready",
                    "embedding_model": model,
                },
            )
        rows.append((doc_index, i % CHUNKS_PER_DOC, text, vector))
    doc_ids = dict(Document.objects.filter(source=source).values_list("uri", "id"))
    rows = [(doc_ids[f"bench/{d}"], p, t, v) for d, p, t, v in rows]
    t0 = time.perf_counter()
    with transaction.atomic():
        _load(rows)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _bulk_postings()
    postings_s = time.perf_counter() - t0
    hnsw_sql, m, ef_construction = _hnsw_sql()
    with connection.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '1GB'")
        t0 = time.perf_counter()
        cur.execute(hnsw_sql)
        hnsw_s = time.perf_counter() - t0
        cur.execute("VACUUM ANALYZE knowledge_chunk")
        cur.execute("VACUUM ANALYZE knowledge_posting")
        cur.execute("VACUUM ANALYZE knowledge_term")
    print(
        f"  loaded {target - have} rows in {load_s:.1f}s (COPY), BM25 postings in {postings_s:.1f}s, "
        f"HNSW (m {m}, ef_construction {ef_construction}) in {hnsw_s:.1f}s"
    )
    return hnsw_s


def _bulk_postings() -> None:
    """What `lexical.postings_write` writes (title x2 + body x1), set-based in SQL for the new chunks:
    the per-document path costs a few ms per chunk on a busy machine, too slow to load 100k."""
    config = settings.KNOWLEDGE_TEXT_SEARCH_CONFIG
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "CREATE TEMP TABLE bench_tf ON COMMIT DROP AS"
            " SELECT c.id AS chunk_id, l.lexeme, sum(v.w * cardinality(l.positions))::float8 AS freq"
            " FROM knowledge_chunk c JOIN knowledge_document d ON d.id = c.document_id"
            " CROSS JOIN LATERAL (VALUES (%s::float8, d.title), (%s::float8, c.text)) AS v(w, body)"
            " CROSS JOIN LATERAL unnest(to_tsvector(%s::regconfig, v.body)) AS l"
            " WHERE c.lexical_length = 0 GROUP BY 1, 2",
            [TITLE_WEIGHT, BODY_WEIGHT, config],
        )
        cur.execute(
            "CREATE TEMP TABLE bench_len ON COMMIT DROP AS SELECT chunk_id, sum(freq) AS len FROM bench_tf GROUP BY 1"
        )
        cur.execute(
            "INSERT INTO knowledge_term (lexeme, chunk_frequency) SELECT lexeme, count(*) FROM bench_tf GROUP BY 1"
            " ORDER BY 1 ON CONFLICT (lexeme) DO UPDATE SET chunk_frequency = knowledge_term.chunk_frequency"
            " + EXCLUDED.chunk_frequency"
        )
        profile = profile_get()
        cur.execute("SELECT count(*), coalesce(sum(len), 0) FROM bench_len")
        new_count, new_total = cur.fetchone()
        avg = (profile.total_length + float(new_total)) / (profile.chunk_count + new_count)
        cur.execute(
            "INSERT INTO knowledge_posting (term_id, chunk_id, frequency, length, impact)"
            " SELECT t.id, f.chunk_id, f.freq, n.len,"
            " f.freq * %s / (f.freq + %s * (1 - %s + %s * n.len / %s))"
            " FROM bench_tf f JOIN knowledge_term t ON t.lexeme = f.lexeme"
            " JOIN bench_len n ON n.chunk_id = f.chunk_id",
            [K1 + 1, K1, B, B, avg],
        )
        cur.execute("UPDATE knowledge_chunk c SET lexical_length = n.len FROM bench_len n WHERE c.id = n.chunk_id")
        RetrievalProfile.objects.filter(pk=profile.pk).update(
            chunk_count=F("chunk_count") + new_count, total_length=F("total_length") + float(new_total)
        )


def _server_ms(sql: str, params: object) -> tuple[float, float]:
    """PostgreSQL's own planning and execution time for a statement (no client, no round trip)."""
    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cur.fetchone()[0][0]
        return float(plan["Planning Time"]), float(plan["Execution Time"])


def _server_ms_hybrid(q: str, v: np.ndarray, model: str, limit: int) -> tuple[float, float]:
    """Planning and execution time of the one hybrid statement inside PostgreSQL, under its HNSW settings."""
    settings_sql, settings_params = hnsw_settings_sql(limit=limit)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(settings_sql, settings_params)
        return _server_ms(HYBRID_SQL, search_params(query=q, limit=limit, model=model, query_vector=v, top=5))


def _explain_hybrid(q: str, v: np.ndarray, model: str, limit: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the hybrid statement (BENCH_EXPLAIN=1 prints it for the first query)."""
    settings_sql, settings_params = hnsw_settings_sql(limit=limit)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(settings_sql, settings_params)
        params = search_params(query=q, limit=limit, model=model, query_vector=v, top=5)
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + HYBRID_SQL, params)
        return "\n".join(row[0] for row in cur.fetchall())


def _sizes() -> str:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pg_total_relation_size('knowledge_chunk'), pg_relation_size(%s),"
            " pg_total_relation_size('knowledge_posting'), (SELECT count(*) FROM knowledge_posting),"
            " (SELECT count(*) FROM knowledge_term)",
            [HNSW_INDEX.name],
        )
        chunk_b, hnsw_b, posting_b, postings, terms = cur.fetchone()
    mb = 1024 * 1024
    return (
        f"chunks table {chunk_b / mb:.0f} MB (HNSW {hnsw_b / mb:.0f} MB), postings {posting_b / mb:.0f} MB "
        f"({postings} rows, {terms} terms)"
    )


def _top10(vector: np.ndarray, *, exact: bool, ef_search: int) -> list[int]:
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SET LOCAL hnsw.ef_search = %s", [ef_search])
        if exact:
            cur.execute("SET LOCAL enable_indexscan = off")
        cur.execute(
            "SELECT id FROM knowledge_chunk ORDER BY embedding <=> %s::vector LIMIT 10",
            ["[" + ",".join(f"{x:.7f}" for x in vector) + "]"],
        )
        return [row[0] for row in cur.fetchall()]


def _plan(model: str, vector: np.ndarray, limit: int) -> str:
    """The scan nodes of the vector part of the hybrid statement (should be the HNSW index)."""
    settings_sql, settings_params = hnsw_settings_sql(limit=limit)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(settings_sql, settings_params)
        cur.execute(
            "EXPLAIN " + vector_statement(),
            {"vector": vector_literal(vector), "model": model, "limit": limit},
        )
        explain = "\n".join(row[0] for row in cur.fetchall())
    nodes = [
        line.strip().lstrip("-> ")
        for line in explain.splitlines()
        if "Scan" in line or line.strip().lstrip("-> ").startswith("Sort  ")
    ]
    return re.sub(r"\s*\(cost=[^)]*\)", "", " / ".join(nodes))


def _backend_cpu_ms() -> float | None:
    """CPU time used so far by this connection's PostgreSQL backend (user + system, from /proc; None
    when the server is not on this host). Per-query CPU is what an idle machine's latency would be
    bounded by, and it moves far less with the load average than wall time does."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _loadavg() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _timed(fn, *args, **kwargs) -> tuple[object, float]:
    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - t0) * 1000


def main() -> int:
    backend = get_backend()
    have = 0
    if KEEP and KnowledgeSource.objects.filter(name="bench-latency").exists():
        have = Chunk.objects.filter(document__source__name="bench-latency").count()
        print(f"BENCH_KEEP: reusing the {have} chunks left by the last run")
    else:
        reset_knowledge(keep_cache=True)
        KnowledgeSource.objects.create(name="bench-latency")
    queries = _queries()
    print(f"model {backend.name}; {len(queries)} queries; {REAL_TEXTS} real texts; sizes {SIZES}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared: figures vary with it)")

    # Embedding latency, one query at a time, cold (the model call) and through the cache.
    backend.embed(["warm up the model"])
    sample = queries[: int(os.environ.get("BENCH_EMBED_QUERIES", len(queries)))]
    cold = [_timed(backend.embed, [f"{q} (variant {i})"])[1] for i, q in enumerate(sample)]
    embed_texts(queries)  # fill the cache
    cached = [_timed(embed_texts, [q])[1] for q in queries]
    print(f"query embedding, model:  {p50_p95(cold)}")
    print(f"query embedding, cached: {p50_p95(cached)}")

    t0 = time.perf_counter()
    texts = sentences(REAL_TEXTS)
    vectors = embed_texts(texts)
    print(f"embedded {len(texts)} corpus texts in {time.perf_counter() - t0:.1f}s")
    real = list(zip(texts, vectors, strict=True))
    query_vectors = embed_texts(queries)
    rng = np.random.default_rng(3)
    limit = settings.KNOWLEDGE_SEARCH_CANDIDATES
    configured_ef = settings.KNOWLEDGE_HNSW_EF_SEARCH
    # The recall the product runs at is always printed, whatever BENCH_EF_VALUES lists.
    ef_values = sorted({*EF_VALUES, configured_ef})
    print(
        f"\n{'chunks':>7} | {'vector search':^29} | {'BM25 search':^29} | {'hybrid (no embedding)':^29} "
        f"| HNSW recall@10 at ef_search {', '.join(map(str, ef_values))} | BM25 recall@10 (budget)"
    )
    lines = []
    for size in SIZES:
        if size < have:
            print(f"skipping {size}: the kept corpus already holds {have} chunks")
            continue
        if size > have or REBUILD_HNSW:
            print(f"growing to {size} chunks")
            _grow(size, have, real, rng, backend.name)
            have = size
        print(f"  load average before timing: {_loadavg()}")
        if os.environ.get("BENCH_EXPLAIN") == "1":
            print(_explain_hybrid(queries[0], query_vectors[0], backend.name, limit))
        # A filter that allows 10 documents (1,000 chunks): the same statement, exact inside the filter.
        narrow = {"document_ids": list(Document.objects.order_by("id").values_list("id", flat=True)[:10])}
        for label in ("first pass", "warm"):
            vec_ms, txt_ms, hyb_ms, hyb_cpu, flt_ms = [], [], [], [], []
            server_cpu = {"vector": 0.0, "BM25": 0.0, "hybrid": 0.0, "filtered hybrid": 0.0}
            for q, v in zip(queries, query_vectors, strict=True):
                c0 = _backend_cpu_ms()
                _, ms = _timed(vector_candidates, query_vector=v, model=backend.name, limit=limit)
                vec_ms.append(ms)
                c1 = _backend_cpu_ms()
                _, ms = _timed(text_candidates, query=q, limit=limit)
                txt_ms.append(ms)
                c2 = _backend_cpu_ms()
                t0, p0 = time.perf_counter(), time.process_time()
                search_embedded(query=q, query_vector=v, model=backend.name, k=5)
                hyb_ms.append((time.perf_counter() - t0) * 1000)
                hyb_cpu.append((time.process_time() - p0) * 1000)
                c3 = _backend_cpu_ms()
                _, ms = _timed(search_embedded, query=q, query_vector=v, model=backend.name, k=5, filters=narrow)
                flt_ms.append(ms)
                c4 = _backend_cpu_ms()
                if None not in (c0, c1, c2, c3, c4):
                    server_cpu["vector"] += c1 - c0
                    server_cpu["BM25"] += c2 - c1
                    server_cpu["hybrid"] += c3 - c2
                    server_cpu["filtered hybrid"] += c4 - c3
            print(
                f"  {label}: vector {p50_p95(vec_ms)} | BM25 {p50_p95(txt_ms)} | hybrid {p50_p95(hyb_ms)} "
                f"(client CPU {p50_p95(hyb_cpu)}) | hybrid filtered to 10 documents {p50_p95(flt_ms)}; "
                f"load {_loadavg()}",
                flush=True,
            )
            n = len(queries)
            print(
                "    PostgreSQL backend CPU per search (mean, /proc): "
                + ", ".join(f"{name} {total / n:.2f} ms" for name, total in server_cpu.items())
            )
        server = [_server_ms_hybrid(q, v, backend.name, limit) for q, v in zip(queries, query_vectors, strict=True)]
        print(
            f"  inside PostgreSQL (EXPLAIN ANALYZE of the hybrid statement sent as such; the unfiltered search runs it "
            f"in knowledge_hybrid_search with a kept plan): execution {p50_p95([e for _, e in server])}, "
            f"planning {p50_p95([p for p, _ in server])}"
        )
        recalls = []
        exact = [set(_top10(v, exact=True, ef_search=40)) for v in query_vectors]
        for ef in ef_values:
            hits = 0
            for v, truth in zip(query_vectors, exact, strict=True):
                found = sorted(vector_rows(query_vector=v, model=backend.name, limit=limit, ef_search=ef))
                found = sorted(found, key=lambda row: (row[1], row[0]))[:10]
                hits += len(truth & {cid for cid, _ in found})
            recalls.append(hits / (10 * len(query_vectors)))
        bm25_hits = bm25_total = 0
        for q in queries:
            truth = {cid for cid, _ in bm25_candidates(lexical=lexical_query(q), limit=10)}
            found = {cid for cid, _ in text_candidates(query=q, limit=10)}
            bm25_hits += len(truth & found)
            bm25_total += len(truth)
        line = (
            f"{size:>7} | {p50_p95(vec_ms)} | {p50_p95(txt_ms)} | {p50_p95(hyb_ms)} "
            f"| {' / '.join(f'{r:.3f}' for r in recalls)} | {bm25_hits / max(bm25_total, 1):.3f}"
        )
        print(f"  vector query plan: {_plan(backend.name, query_vectors[0], limit)}")
        print(f"  sizes: {_sizes()}; load average {_loadavg()}")
        lines.append(line)
        print(line, flush=True)
    print(
        f"\nsummary (warm pass; p50/p95 in ms; ef_search {configured_ef}, candidates {limit}, BM25 budget "
        f"{settings.KNOWLEDGE_BM25_POSTINGS_PER_TERM} postings per term):"
    )
    for line in lines:
        print(line)
    if not KEEP:
        reset_knowledge(keep_cache=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
