"""Queueing documents for the Celery indexer (`tasks.index_documents`, which calls `documents.document_index`).

Apart from `documents` so that the task and the indexer it calls never import each other.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from apps.knowledge.models import Document, DocumentStatus
from apps.knowledge.tasks import index_documents


def documents_enqueue_index(*, document_ids: Sequence[int], force: bool = False) -> None:
    """Index in Celery once the current transaction commits (the rows must be visible to the worker)."""
    ids = list(document_ids)
    if ids:
        transaction.on_commit(lambda: index_documents.delay(ids, force=force))


def documents_reindex(*, document_ids: Sequence[int]) -> int:
    """Re-chunk and re-embed from the stored content (new settings, another backend)."""
    with transaction.atomic():
        ids = list(Document.objects.filter(pk__in=document_ids).values_list("pk", flat=True))
        Document.objects.filter(pk__in=ids).update(status=DocumentStatus.PENDING, updated_at=timezone.now())
        documents_enqueue_index(document_ids=ids, force=True)
    return len(ids)
