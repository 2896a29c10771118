"""Operations through the JSON API: put, update and sync documents (indexed in Celery after commit)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from apps.core.errors import ApplicationError
from apps.knowledge.models import Document, DocumentFormat
from apps.knowledge.services.documents import (
    DocumentInput,
    UpsertResult,
    current_signature,
    document_upsert,
    documents_delete,
    source_get_or_create,
)
from apps.knowledge.services.indexing_queue import documents_enqueue_index

API_FORMATS = frozenset(DocumentFormat.values)


@dataclass
class SyncReport:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    duplicates: int = 0
    deleted: int = 0
    document_ids: list[int] = field(default_factory=list)


def _api_item(*, uri: str, format: str, content: str, title: str, tags: Sequence[str]) -> DocumentInput:
    if format not in API_FORMATS:
        raise ApplicationError(f"unknown format {format!r} (use {', '.join(sorted(API_FORMATS))})", code="unsupported")
    if len(content.encode("utf-8")) > settings.KNOWLEDGE_UPLOAD_MAX_BYTES:
        raise ApplicationError(f"{uri}: larger than {settings.KNOWLEDGE_UPLOAD_MAX_BYTES} bytes", code="too_large")
    if not content.strip():
        raise ApplicationError(f"{uri}: empty content", code="invalid_document")
    return DocumentInput(uri=uri, format=format, raw_content=content, title=title, tags=tuple(tags))


def document_put(
    *, source_name: str, uri: str, format: str, content: str, title: str = "", tags: Sequence[str] = ()
) -> UpsertResult:
    """Add or replace one document (by source and URI); it is indexed in Celery after commit."""
    item = _api_item(uri=uri, format=format, content=content, title=title, tags=tags)
    with transaction.atomic():
        source = source_get_or_create(name=source_name)
        result = document_upsert(source=source, item=item, signature=current_signature())
        if result.outcome in ("created", "changed", "stale") and result.document is not None:
            documents_enqueue_index(document_ids=[result.document.pk])
    return result


def document_update(
    *, document: Document, content: str, format: str = "", title: str = "", tags: Sequence[str] | None = None
) -> UpsertResult:
    """Replace an existing document's content (and optionally title, format, tags)."""
    return document_put(
        source_name=document.source.name,
        uri=document.uri,
        format=format or document.format,
        content=content,
        title=title,
        tags=document.tags if tags is None else tags,
    )


def documents_sync(*, source_name: str, items: Sequence[dict], prune: bool) -> SyncReport:
    """Make a source hold exactly the uploaded documents (with `prune`): new and changed ones are stored
    and indexed in Celery after commit, unchanged ones skipped, the source's others deleted."""
    inputs = [
        _api_item(
            uri=item["uri"],
            format=item["format"],
            content=item["content"],
            title=item.get("title", ""),
            tags=item.get("tags", ()),
        )
        for item in items
    ]
    uris = [item.uri for item in inputs]
    if len(set(uris)) != len(uris):
        raise ApplicationError("the same URI is given twice", code="invalid")
    report = SyncReport()
    signature = current_signature()
    with transaction.atomic():
        source = source_get_or_create(name=source_name)
        for item in inputs:
            result = document_upsert(source=source, item=item, signature=signature)
            if result.outcome == "duplicate":
                report.duplicates += 1
                continue
            assert result.document is not None
            report.document_ids.append(result.document.pk)
            if result.outcome == "unchanged":
                report.unchanged += 1
                continue
            if result.outcome == "created":
                report.created += 1
            else:
                report.changed += 1
            documents_enqueue_index(document_ids=[result.document.pk])
        if prune:
            stale = Document.objects.filter(source=source).exclude(uri__in=uris)
            report.deleted = documents_delete(document_ids=list(stale.values_list("pk", flat=True)))
    return report
