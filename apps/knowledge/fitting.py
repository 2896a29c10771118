"""Fitting the knowledge base's fusion weight and no-answer threshold from its own documents.

Queries are what the documents say they answer: FAQ questions and section
headings (each with its own document as the answer) and document titles. At
most `KNOWLEDGE_FIT_MAX_QUERIES` of them, chosen by a stable hash so a re-fit
of an unchanged knowledge base gives the same result. See `fusion.fit` for
the choice itself. Runs after every ingest that changed something, from the
Celery indexing task when the corpus grew or shrank by a tenth since the last
fit, and from `manage.py fit_retrieval`.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .embeddings import EmbeddingError, embed_texts, get_backend
from .fusion import FitQuery, FitResult, fit
from .lexical import profile_get
from .models import Chunk, RetrievalProfile

logger = logging.getLogger(__name__)

MIN_DOCUMENTS = 2  # with one document nothing can be told apart


def fit_queries(*, limit: int) -> list[tuple[str, int]]:
    """(query text, answer document id): headings and FAQ questions of chunks, and titles."""
    found: dict[str, set[int]] = {}
    rows = Chunk.objects.filter(document__is_active=True, document__status="ready").values_list(
        "document_id", "document__title", "heading_path"
    )
    for document_id, title, heading_path in rows:
        for text in [title, *heading_path]:
            text = " ".join((text or "").split())
            if len(text) >= 3:
                found.setdefault(text, set()).add(document_id)
    # A heading shared by several documents ("Overview") names none of them.
    pairs = [(text, next(iter(docs))) for text, docs in found.items() if len(docs) == 1]
    pairs.sort(key=lambda pair: hashlib.sha256(pair[0].encode()).hexdigest())
    return pairs[:limit]


def fit_candidates(pairs: list[tuple[str, int]]) -> list[FitQuery]:
    from .selectors import hybrid_candidates

    backend = get_backend()
    try:
        vectors = embed_texts([text for text, _ in pairs], backend=backend)
    except EmbeddingError as exc:
        logger.warning("fitting without vectors (embedding failed): %s", exc)
        vectors = None
    limit = settings.KNOWLEDGE_SEARCH_CANDIDATES
    queries = []
    for i, (text, document_id) in enumerate(pairs):
        candidates = hybrid_candidates(
            query=text,
            limit=limit,
            query_vector=vectors[i] if vectors is not None else None,
            model=backend.name,
        )
        queries.append(FitQuery(text=text, document_id=document_id, candidates=candidates.scored))
    return queries


def retrieval_profile_fit() -> RetrievalProfile:
    """Choose and store the fusion weight and answer threshold for the current knowledge base."""
    pairs = fit_queries(limit=settings.KNOWLEDGE_FIT_MAX_QUERIES)
    profile = profile_get()
    if len({doc for _, doc in pairs}) < MIN_DOCUMENTS:
        return profile
    result: FitResult = fit(fit_candidates(pairs))
    report = asdict(result)
    report["mrr_by_weight"] = {f"{w:.2f}": round(v, 4) for w, v in result.mrr_by_weight.items()}
    with transaction.atomic():
        profile = RetrievalProfile.objects.select_for_update().get(pk=profile.pk)
        profile.vector_weight = result.vector_weight
        profile.answer_threshold = result.answer_threshold
        profile.fitted_at = timezone.now()
        profile.fitted_chunk_count = profile.chunk_count
        profile.fit_report = report
        profile.save()
    logger.info(
        "retrieval fitted on %s queries: vector weight %.2f, answer threshold %.3f",
        result.queries,
        result.vector_weight,
        result.answer_threshold,
    )
    return profile


def retrieval_profile_needs_fit(profile: RetrievalProfile) -> bool:
    if profile.fitted_at is None:
        return profile.chunk_count > 0
    drift = abs(profile.chunk_count - profile.fitted_chunk_count)
    return drift > 0.1 * max(profile.fitted_chunk_count, 1)
