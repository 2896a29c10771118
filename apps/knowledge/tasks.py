"""Celery interface of the knowledge base: load by id, call the indexing service.

Safe to run twice: an already indexed document is skipped unless `force`, and
the chunk swap is atomic.
"""

from __future__ import annotations

import logging

from celery import shared_task

from apps.core.errors import ApplicationError

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def index_documents(document_ids: list[int], force: bool = False) -> None:
    from .fitting import retrieval_profile_fit, retrieval_profile_needs_fit
    from .lexical import profile_get
    from .models import Document
    from .services.documents import document_index

    for document_id in document_ids:
        try:
            document_index(document_id=document_id, force=force)
        except Document.DoesNotExist:
            logger.info("document %s was deleted before it was indexed", document_id)
        except ApplicationError as exc:
            # Recorded on the document (status failed, error); the others still get indexed.
            logger.warning("indexing document %s failed: %s", document_id, exc)
    # Re-fit when the corpus changed by a tenth since the last fit (cheap to check, idempotent).
    if retrieval_profile_needs_fit(profile_get()):
        retrieval_profile_fit()
