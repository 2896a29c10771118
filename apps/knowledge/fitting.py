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
import re
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .chunking import embedding_text
from .embeddings import EmbeddingError, embed_texts, get_backend
from .fusion import FitQuery, FitResult, Scored, fit
from .lexical import ChunkFields, LexicalQuery, bm25_term_score, chunk_term_frequencies, lexical_query, profile_get
from .models import Chunk, RetrievalProfile

logger = logging.getLogger(__name__)

MIN_DOCUMENTS = 2  # with one document nothing can be told apart
MAX_SENTENCE_WORDS = 30
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class PseudoQuery:
    """A query taken from a chunk, and that chunk with the query hidden from it (what the answer
    looks like to a customer who did not use its exact words)."""

    text: str
    document_id: int
    masked: ChunkFields
    masked_embedding_text: str


def _pseudo_queries(chunk: Chunk, title: str, uri: str) -> list[PseudoQuery]:
    headings = tuple(chunk.heading_path)
    named = [h for h in dict.fromkeys([title, *headings]) if h and h != PurePosixPath(uri).stem]
    found = []
    for name in named:
        if chunk.text.startswith(name):
            continue  # a plain-text document's first line is its title: the sentence case below
        masked_title = "" if name == title else title
        masked_headings = tuple(h for h in headings if h != name)
        found.append((name, masked_title, masked_headings, chunk.text))
    if not found:
        first, _, rest = chunk.text.strip().partition("\n")
        parts = _SENTENCE_END.split(first, maxsplit=1)
        sentence, remainder = parts[0], " ".join([*(parts[1:]), rest]).strip()
        if 3 <= len(sentence.split()) <= MAX_SENTENCE_WORDS and len(remainder.split()) >= 3:
            masked_title = "" if title and sentence.startswith(title[:40]) else title
            found.append((sentence, masked_title, headings, remainder))
    return [
        PseudoQuery(
            text=" ".join(query.split()),
            document_id=chunk.document_id,
            masked=ChunkFields(chunk_id=chunk.pk, title=m_title, headings=m_headings, body=body),
            masked_embedding_text=embedding_text(title=m_title, heading_path=m_headings, text=body),
        )
        for query, m_title, m_headings, body in found
    ]


def fit_queries(*, limit: int) -> list[PseudoQuery]:
    """Titles, headings and FAQ questions, each hidden from its own chunk; for a chunk with none of those
    (plain text whose title is its file name or its own first line) its first sentence, likewise."""
    found: dict[str, list[PseudoQuery]] = {}
    chunks = Chunk.objects.filter(document__is_active=True, document__status="ready").select_related("document")
    for chunk in chunks.only("id", "document_id", "heading_path", "text", "document__title", "document__uri"):
        for pseudo in _pseudo_queries(chunk, chunk.document.title, chunk.document.uri):
            if len(pseudo.text) >= 3:
                found.setdefault(pseudo.text, []).append(pseudo)
    # A heading several documents share ("Overview") names none of them; one document's repeated
    # heading is asked once, against its first chunk.
    pairs = [items[0] for items in found.values() if len({p.document_id for p in items}) == 1]
    pairs.sort(key=lambda pseudo: hashlib.sha256(pseudo.text.encode()).hexdigest())
    return pairs[:limit]


def _masked_scored(
    pseudo: PseudoQuery, lexical: LexicalQuery, query_vector: np.ndarray | None, masked_vector: np.ndarray | None
) -> Scored:
    terms = chunk_term_frequencies([pseudo.masked])[pseudo.masked.chunk_id]
    length = sum(terms.values())
    bm25 = sum(
        bm25_term_score(frequency=terms[t.lexeme], length=length, avg_length=lexical.avg_length, term_idf=t.idf)
        for t in lexical.terms
        if t.lexeme in terms
    )
    similarity = (
        float(np.dot(query_vector, masked_vector)) if query_vector is not None and masked_vector is not None else None
    )
    return Scored(
        chunk_id=pseudo.masked.chunk_id,
        document_id=pseudo.document_id,
        similarity=similarity,
        lexical=bm25 / lexical.max_score if lexical.max_score > 0 else 0.0,
    )


def fit_candidates(pseudo_queries: list[PseudoQuery]) -> list[FitQuery]:
    """Each query's candidates, its own document represented only by its masked chunk."""
    from .selectors import hybrid_candidates

    backend = get_backend()
    try:
        vectors = embed_texts([p.text for p in pseudo_queries], backend=backend)
        masked = embed_texts([p.masked_embedding_text for p in pseudo_queries], backend=backend)
    except EmbeddingError as exc:
        logger.warning("fitting without vectors (embedding failed): %s", exc)
        vectors = masked = None
    limit = settings.KNOWLEDGE_SEARCH_CANDIDATES
    queries = []
    for i, pseudo in enumerate(pseudo_queries):
        query_vector = vectors[i] if vectors is not None else None
        candidates = hybrid_candidates(query=pseudo.text, limit=limit, query_vector=query_vector, model=backend.name)
        others = [c for c in candidates.scored if c.document_id != pseudo.document_id]
        present = tuple(c for c in candidates.scored if c.document_id == pseudo.document_id)
        own = _masked_scored(
            pseudo, lexical_query(pseudo.text), query_vector, masked[i] if masked is not None else None
        )
        queries.append(
            FitQuery(text=pseudo.text, document_id=pseudo.document_id, candidates=(own, *others), present=present)
        )
    return queries


def retrieval_profile_fit() -> RetrievalProfile:
    """Choose and store the fusion weight and answer threshold for the current knowledge base."""
    pairs = fit_queries(limit=settings.KNOWLEDGE_FIT_MAX_QUERIES)
    profile = profile_get()
    if len({p.document_id for p in pairs}) < MIN_DOCUMENTS:
        return profile
    result: FitResult = fit(fit_candidates(pairs), false_answer_rate=settings.KNOWLEDGE_FALSE_ANSWER_RATE)
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
