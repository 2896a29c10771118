"""The help center tool every specialist has: search the knowledge base, and keep what it cites.

Answers come only from what this returns. An excerpt counts as relevant only
when its cosine similarity to the question reaches
`SPECIALISTS_FAQ_MIN_SIMILARITY`; below it the specialist says it does not know
and offers a ticket instead of stretching a loosely related page into an answer.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from pydantic_ai import RunContext

from apps.agents.deps import SupportDeps
from apps.agents.tools import read_tool
from apps.guardrails.checks import check_untrusted
from apps.knowledge.prompting import PREAMBLE
from apps.knowledge.selectors import knowledge_search
from apps.observability.models import SpanKind

EXCERPT_CHARS = 1200


@read_tool
def search_knowledge(ctx: RunContext[SupportDeps], query: str) -> dict[str, Any]:
    """Search the shop's help center (policies, shipping, returns, payments, products, account) for the question.
    Answer only from the excerpts returned, citing them by id like [1]."""
    threshold = settings.SPECIALISTS_FAQ_MIN_SIMILARITY
    chunks = knowledge_search(query=query, k=settings.SPECIALISTS_FAQ_TOP_K)
    relevant = [c for c in chunks if c.similarity is not None and c.similarity >= threshold]
    excerpts = []
    for number, chunk in enumerate(relevant, start=1):
        citation = {
            "id": number,
            "title": chunk.document_title,
            "section": chunk.citation,
            "source": chunk.source,
            "chunk_id": chunk.chunk_id,
        }
        if all(c.get("chunk_id") != chunk.chunk_id for c in ctx.deps.citations):
            ctx.deps.citations.append(citation)
        verdict = check_untrusted(chunk.text, kind="document")
        if verdict.tripped:
            # Still data, still wrapped; flagged so operators find the poisoned article in the trace.
            ctx.deps.trace.add(
                SpanKind.GUARDRAIL,
                "untrusted_document",
                chunk_id=chunk.chunk_id,
                document=chunk.document_title,
                score=verdict.score,
            )
        excerpts.append(
            {
                **citation,
                "similarity": round(chunk.similarity or 0.0, 3),
                "flagged_as_injection": verdict.tripped,
                "text": chunk.text[:EXCERPT_CHARS],
            }
        )
    return {
        "query": query,
        "relevant": bool(excerpts),
        "rule": PREAMBLE.format(shop=settings.SHOP_NAME),
        "excerpts": excerpts,
        "best_similarity": round(max((c.similarity or 0.0 for c in chunks), default=0.0), 3),
    }


TOOLS = [search_knowledge]
