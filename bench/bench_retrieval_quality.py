"""Retrieval quality on a public e-commerce FAQ set nobody on the team wrote.

Each answer is ingested as its own plain-text document (the production
ingestion path: chunking, local MiniLM embeddings, tsvector); each question is
a query whose right answer is its own answer's document. Reported side by side,
in the same run: vector only, full text only, hybrid (reciprocal rank fusion,
what `knowledge_search` does), and a BM25 baseline (rank-bm25, Okapi, over the
same answers, lower-cased word tokens).

hit@k: the right document is among the first k. MRR: mean of 1/rank (0 when
not in the first 20). Nothing is tuned to this file.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time

import django

os.environ.setdefault("LOG_LEVEL", "WARNING")

django.setup()

from _knowledge import faq_path, reset_knowledge  # noqa: E402
from django.conf import settings  # noqa: E402
from rank_bm25 import BM25Okapi  # noqa: E402

from apps.knowledge.embeddings import embed_query, get_backend  # noqa: E402
from apps.knowledge.models import Chunk, Document  # noqa: E402
from apps.knowledge.selectors import fuse, text_candidates, vector_candidates  # noqa: E402
from apps.knowledge.services import DocumentInput, content_hash, ingest_documents, source_get_or_create  # noqa: E402

DEPTH = 20


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _doc_ranking(chunk_ids: list[int], chunk_doc: dict[int, int]) -> list[int]:
    seen: list[int] = []
    for chunk_id in chunk_ids:
        doc = chunk_doc[chunk_id]
        if doc not in seen:
            seen.append(doc)
    return seen


def _metrics(rankings: list[list[int]], gold: list[int]) -> tuple[float, float, float]:
    hit1 = hit5 = rr = 0.0
    for ranking, answer in zip(rankings, gold, strict=True):
        top = ranking[:DEPTH]
        if answer in top:
            rank = top.index(answer) + 1
            hit1 += rank == 1
            hit5 += rank <= 5
            rr += 1 / rank
    n = len(gold)
    return hit1 / n, hit5 / n, rr / n


def main() -> int:
    path = faq_path()
    if not path.is_file():
        print(f"skipped: {path} not found (set SWITCHBOARD_SHARED_DIR to the folder holding datasets/)")
        return 0
    pairs = json.loads(path.read_text(encoding="utf-8"))
    reset_knowledge()
    source = source_get_or_create(name="bench-faq")
    items = [DocumentInput(uri=f"faq/{i}", format="text", raw_content=p["answer"]) for i, p in enumerate(pairs)]
    t0 = time.perf_counter()
    report = ingest_documents(source=source, items=items)
    print(f"ingested {len(pairs)} answers in {time.perf_counter() - t0:.1f}s: {report.summary()}")

    # Identical answers are stored once: a question's gold document is the one holding its answer's text.
    doc_by_hash = dict(Document.objects.filter(source=source).values_list("content_hash", "id"))
    gold = [doc_by_hash[content_hash(p["answer"])] for p in pairs]
    chunk_doc = dict(Chunk.objects.filter(document__source=source).values_list("id", "document_id"))

    backend = get_backend()
    limit = settings.KNOWLEDGE_SEARCH_CANDIDATES
    filters = {"source": "bench-faq"}
    rankings: dict[str, list[list[int]]] = {"vector only": [], "full text only": [], "hybrid (RRF)": []}
    for pair in pairs:
        vector = embed_query(pair["question"], backend=backend)
        v_rows = vector_candidates(query_vector=vector, model=backend.name, limit=limit, filters=filters)
        t_rows = text_candidates(query=pair["question"], limit=limit, filters=filters)
        fused = fuse(vector_rows=v_rows, text_rows=t_rows, k=DEPTH, rrf_k=settings.KNOWLEDGE_RRF_K)
        rankings["vector only"].append(_doc_ranking([c for c, _ in v_rows], chunk_doc))
        rankings["full text only"].append(_doc_ranking([c for c, _ in t_rows], chunk_doc))
        rankings["hybrid (RRF)"].append(_doc_ranking([r.chunk_id for r in fused], chunk_doc))

    # BM25 over the same stored documents.
    docs = list(Document.objects.filter(source=source).order_by("id").values_list("id", "raw_content"))
    bm25 = BM25Okapi([_tokens(text) for _, text in docs])
    rankings["BM25 baseline"] = []
    for pair in pairs:
        scores = bm25.get_scores(_tokens(pair["question"]))
        order = sorted(range(len(docs)), key=lambda i: -scores[i])
        rankings["BM25 baseline"].append([docs[i][0] for i in order[:DEPTH]])

    print(f"\n{path.name}: {len(pairs)} questions, {len(doc_by_hash)} distinct answer documents, model {backend.name}")
    print(f"{'method':<16} {'hit@1':>6} {'hit@5':>6} {'MRR':>6}")
    for name, ranking in rankings.items():
        hit1, hit5, mrr = _metrics(ranking, gold)
        print(f"{name:<16} {hit1:6.3f} {hit5:6.3f} {mrr:6.3f}")
    reset_knowledge()
    return 0


if __name__ == "__main__":
    sys.exit(main())
