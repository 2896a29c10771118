"""Selectors for a whole help page: every section of the page an excerpt comes from.

A question about a policy as a whole ("what is your return policy?") is answered from all of its page's
sections, not only the few a search ranks highest (the help center's `search_knowledge(page_of=...)`).
"""

from __future__ import annotations

from .models import Chunk
from .selectors import RetrievedChunk


def page_sections(*, chunk_id: int) -> list[RetrievedChunk]:
    """Every section of the active page that holds `chunk_id`, in page order; empty for an unknown chunk or an
    inactive page."""
    chunk = Chunk.objects.filter(pk=chunk_id, document__is_active=True).only("document_id").first()
    if chunk is None:
        return []
    rows = (
        Chunk.objects.filter(document_id=chunk.document_id)
        .select_related("document__source")
        .only(
            "id", "text", "heading_path", "document__id", "document__title", "document__uri", "document__source__name"
        )
        .order_by("position")
    )
    return [
        RetrievedChunk(
            chunk_id=row.pk,
            text=row.text,
            score=0.0,
            document_id=row.document.pk,
            document_title=row.document.title,
            source=row.document.uri,
            source_name=row.document.source.name,
            heading_path=tuple(row.heading_path),
        )
        for row in rows
    ]
