"""Retrieval quality on FAQ sets nobody on the team wrote: vector, BM25 and fused, plus no-answer behaviour.

    python -m config.devstack bench bench/bench_retrieval_quality.py [FAQ.json ...]

Each file is a JSON list of {"question": ..., "answer": ...} or a CSV file with
question and answer columns. The shared e-commerce set
(datasets/retrieval/ecommerce_faq.json) is always measured first (skipped with a
message when absent), then every file named on the command line. For each set, each distinct answer is ingested as its
own plain-text document through the production path (`ingest_documents`: chunking,
local MiniLM embeddings, BM25 postings, then the fit of the fusion weight and the
answer threshold from the documents themselves: the questions are never seen by
the fit). Each question is then a query whose right answer is its own answer's
document.

Reported per set, from the same candidates (`hybrid_candidates`, what
`knowledge_search` runs): vector only (cosine order), BM25 only, fused with the
fitted weight; and rank-bm25 (Okapi over lower-cased word tokens) as an outside
reference. hit@k: the right document is among the first k; MRR: mean 1/rank
(0 beyond rank 20). "best weight in hindsight" is the grid weight that would have
been best on the questions themselves: how far the fit is from an oracle.

No answer: every question is asked again with its own answer's document left
out (the knowledge base then has no answer for it); a "false answer" is a top
chunk that still reaches the answer threshold. With the document present,
"answered right" is a top hit that is the right one and reaches the threshold.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("LOG_LEVEL", "WARNING")

django.setup()

from _knowledge import faq_path, reset_knowledge  # noqa: E402
from django.conf import settings  # noqa: E402
from rank_bm25 import BM25Okapi  # noqa: E402

from apps.knowledge.embeddings import embed_texts, get_backend  # noqa: E402
from apps.knowledge.fusion import WEIGHT_GRID  # noqa: E402
from apps.knowledge.lexical import profile_get  # noqa: E402
from apps.knowledge.models import Document  # noqa: E402
from apps.knowledge.selectors import answer_threshold, hybrid_candidates  # noqa: E402
from apps.knowledge.services import DocumentInput, content_hash, ingest_documents, source_get_or_create  # noqa: E402

DEPTH = 20


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _documents(chunk_order: list[int], chunk_doc: dict[int, int]) -> list[int]:
    return list(dict.fromkeys(chunk_doc[c] for c in chunk_order))[:DEPTH]


def _metrics(rankings: list[list[int]], gold: list[int]) -> tuple[float, float, float]:
    hit1 = hit5 = rr = 0.0
    for ranking, answer in zip(rankings, gold, strict=True):
        if answer in ranking:
            position = ranking.index(answer) + 1
            hit1 += position == 1
            hit5 += position <= 5
            rr += 1 / position
    n = len(gold)
    return hit1 / n, hit5 / n, rr / n


def evaluate(path: Path) -> None:
    pairs = [p for p in load_pairs(path) if p.get("question") and p.get("answer")]
    reset_knowledge()
    source = source_get_or_create(name="bench-faq")
    items = [DocumentInput(uri=f"faq/{i}", format="text", raw_content=p["answer"]) for i, p in enumerate(pairs)]
    t0 = time.perf_counter()
    report = ingest_documents(source=source, items=items)
    print(f"\n== {path.name}: ingested and fitted in {time.perf_counter() - t0:.1f}s: {report.summary()}")
    profile = profile_get()
    weight, threshold = profile.vector_weight, answer_threshold(profile)
    fit = profile.fit_report
    print(
        f"fit on {fit.get('queries', 0)} generated queries: vector weight {weight:.2f}, answer threshold "
        f"{threshold:.3f} (fit set: {fit.get('answered_rate', 0):.2f} answered, {fit.get('refused_rate', 0):.2f} "
        f"of left-out refused); MRR on fit set at w=0/chosen/1: {fit['mrr_by_weight']['0.00']:.3f} / "
        f"{fit['mrr_by_weight'][f'{weight:.2f}']:.3f} / {fit['mrr_by_weight']['1.00']:.3f}"
    )

    # Identical answers are stored once: a question's gold document is the one holding its answer's text.
    doc_by_hash = dict(Document.objects.filter(source=source).values_list("content_hash", "id"))
    gold = [doc_by_hash[content_hash(p["answer"])] for p in pairs]
    backend = get_backend()
    vectors = embed_texts([p["question"] for p in pairs], backend=backend)
    limit = settings.KNOWLEDGE_SEARCH_CANDIDATES
    rankings: dict[str, list[list[int]]] = {"vector only": [], "BM25 only": [], "fused": []}
    by_weight: dict[float, list[list[int]]] = {w: [] for w in WEIGHT_GRID}
    answered_right = answered_wrong = refused = false_answers = 0
    pos_scores: list[float] = []
    neg_scores: list[float] = []
    for pair, vector, answer in zip(pairs, vectors, gold, strict=True):
        cands = hybrid_candidates(query=pair["question"], limit=limit, query_vector=vector, model=backend.name)
        chunk_doc = {c.chunk_id: c.document_id for c in cands.scored}
        rankings["vector only"].append(_documents(sorted(cands.vector_rank, key=cands.vector_rank.get), chunk_doc))
        rankings["BM25 only"].append(_documents(sorted(cands.text_rank, key=cands.text_rank.get), chunk_doc))
        fused = cands.ranked(weight)
        rankings["fused"].append(_documents([c.chunk_id for c in fused], chunk_doc))
        for w in WEIGHT_GRID:
            by_weight[w].append(_documents([c.chunk_id for c in cands.ranked(w)], chunk_doc))
        if fused:
            top = fused[0]
            ok = top.fused(weight) >= threshold or top.chunk_id in cands.pinned
            if not ok:
                refused += 1
            elif top.document_id == answer:
                answered_right += 1
            else:
                answered_wrong += 1
        if fused and fused[0].document_id == answer:
            pos_scores.append(fused[0].fused(weight))
        others = [c for c in fused if c.document_id != answer]
        if others:
            neg_scores.append(others[0].fused(weight))
        if others and (others[0].fused(weight) >= threshold or others[0].chunk_id in cands.pinned):
            false_answers += 1

    docs = list(Document.objects.filter(source=source).order_by("id").values_list("id", "raw_content"))
    bm25 = BM25Okapi([_tokens(text) for _, text in docs])
    rankings["rank-bm25 (ref)"] = []
    for pair in pairs:
        scores = bm25.get_scores(_tokens(pair["question"]))
        order = sorted(range(len(docs)), key=lambda i: -scores[i])
        rankings["rank-bm25 (ref)"].append([docs[i][0] for i in order[:DEPTH]])

    n = len(pairs)
    print(f"{n} questions, {len(doc_by_hash)} distinct answer documents, model {backend.name}")
    print(f"{'method':<18} {'hit@1':>6} {'hit@5':>6} {'MRR':>6}")
    for name, ranking in rankings.items():
        hit1, hit5, mrr = _metrics(ranking, gold)
        print(f"{name:<18} {hit1:6.3f} {hit5:6.3f} {mrr:6.3f}")
    oracle = max(WEIGHT_GRID, key=lambda w: _metrics(by_weight[w], gold)[2])
    print(f"best weight in hindsight: {oracle:.2f} (MRR {_metrics(by_weight[oracle], gold)[2]:.3f})")
    print(
        f"answer present: answered {(answered_right + answered_wrong) / n:.3f} (right {answered_right / n:.3f}, "
        f"wrong document {answered_wrong / n:.3f}), said it does not know {refused / n:.3f}"
    )
    if pos_scores and neg_scores:
        qs = [0.1, 0.25, 0.5, 0.75, 0.9]
        pos_sorted, neg_sorted = sorted(pos_scores), sorted(neg_scores)
        print(
            "fused top score quantiles 10/25/50/75/90%: answer present (right top) "
            + " ".join(f"{pos_sorted[int(q * (len(pos_sorted) - 1))]:.3f}" for q in qs)
            + "; answer left out "
            + " ".join(f"{neg_sorted[int(q * (len(neg_sorted) - 1))]:.3f}" for q in qs)
        )
    print(f"answer left out: false answers {false_answers / n:.3f} ({false_answers} of {n})")
    reset_knowledge()


def load_pairs(path: Path) -> list[dict[str, str]]:
    """A JSON list of {"question", "answer"} objects, or a CSV file with question and answer columns
    (header names matched case-insensitively)."""
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        return [{k.strip().lower(): (v or "").strip() for k, v in row.items() if k} for row in rows]
    return json.loads(path.read_text(encoding="utf-8"))


def main(argv: list[str]) -> int:
    # The shared e-commerce set always, then every file named on the command line.
    paths = list(dict.fromkeys([faq_path(), *(Path(a) for a in argv)]))
    for path in paths:
        if not path.is_file():
            print(f"skipped: {path} not found (set SWITCHBOARD_SHARED_DIR to the folder holding datasets/)")
            continue
        evaluate(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
