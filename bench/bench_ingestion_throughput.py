"""Ingestion throughput with the local model: chunks per second, end to end.

A synthetic help centre (BENCH_INGEST_DOCS markdown documents, 8 sections each)
goes through the production path (`ingest_documents`: hash, upsert, parse,
heading-aware chunking, batched MiniLM embedding, atomic chunk swap with
tsvector). The embedding cache rows for these texts are removed first, so every
chunk is embedded. Reported: chunks/s overall and the share of time spent in
the model; then the same documents again, unchanged (the skip path).
"""

from __future__ import annotations

import os
import sys
import time

import django

os.environ.setdefault("LOG_LEVEL", "WARNING")
django.setup()

from _knowledge import reset_knowledge  # noqa: E402
from _synthetic import markdown_documents  # noqa: E402
from django.conf import settings  # noqa: E402

from apps.knowledge.chunking import chunk_document, embedding_text, parse_document, token_counter  # noqa: E402
from apps.knowledge.embeddings import get_backend, text_hash  # noqa: E402
from apps.knowledge.models import EmbeddingCache  # noqa: E402
from apps.knowledge.services import DocumentInput, ingest_documents, source_get_or_create  # noqa: E402

DOCS = int(os.environ.get("BENCH_INGEST_DOCS", "60"))


def main() -> int:
    backend = get_backend()
    print(f"model {backend.name}; machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    reset_knowledge(keep_cache=True)
    docs = markdown_documents(DOCS)
    items = [DocumentInput(uri=uri, format="markdown", raw_content=text) for uri, text in docs]
    count = token_counter()
    hashes = []
    for item in items:
        parsed = parse_document(item.raw_content, item.format)
        for draft in chunk_document(
            parsed,
            max_tokens=settings.KNOWLEDGE_CHUNK_MAX_TOKENS,
            overlap_tokens=settings.KNOWLEDGE_CHUNK_OVERLAP_TOKENS,
            count=count,
        ):
            hashes.append(
                text_hash(embedding_text(title=parsed.title, heading_path=draft.heading_path, text=draft.text))
            )
    EmbeddingCache.objects.filter(model=backend.name, text_hash__in=hashes).delete()

    backend.embed(["load the model before timing"])
    model_seconds = 0.0
    real_embed = backend.embed

    def timed_embed(texts):
        nonlocal model_seconds
        t0 = time.perf_counter()
        try:
            return real_embed(texts)
        finally:
            model_seconds += time.perf_counter() - t0

    backend.embed = timed_embed  # type: ignore[method-assign]
    source = source_get_or_create(name="bench-ingest")
    t0 = time.perf_counter()
    report = ingest_documents(source=source, items=items)
    elapsed = time.perf_counter() - t0
    backend.embed = real_embed  # type: ignore[method-assign]
    print(report.summary())
    print(
        f"cold ingest: {report.chunks} chunks from {DOCS} documents in {elapsed:.1f}s = "
        f"{report.chunks / elapsed:.1f} chunks/s ({model_seconds / elapsed:.0%} of the time in the model, "
        f"model alone {report.chunks / model_seconds:.1f} chunks/s)"
    )
    t0 = time.perf_counter()
    again = ingest_documents(source=source, items=items)
    elapsed = time.perf_counter() - t0
    print(f"unchanged re-ingest: {again.unchanged} documents skipped in {elapsed:.2f}s = {DOCS / elapsed:.0f} docs/s")
    reset_knowledge(keep_cache=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
