"""The gaps report's input: questions the FAQ specialist could not answer."""

from __future__ import annotations

from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.core.fixed_sql import model_insert
from apps.knowledge.embeddings import embed_query, get_backend
from apps.knowledge.models import UnansweredQuestion

UNANSWERED_MAX_CHARS = 500


def unanswered_question_record(*, question: str, best_score: float | None) -> UnansweredQuestion | None:
    """Keep a question the knowledge base could not answer, for the gaps report.

    The question is what the FAQ specialist searched for (already through the input
    guardrail). Its embedding is the search's own (`embed_query`: the embedder still holds
    it), so grouping similar questions later costs no model call.
    """
    text = " ".join(question.split())[:UNANSWERED_MAX_CHARS]
    if not text:
        return None
    backend = get_backend()
    try:
        vector = embed_query(text, backend=backend)
    except ApplicationError:
        vector = None
    row = UnansweredQuestion(
        question=text,
        best_score=best_score,
        embedding=vector,
        embedding_model=backend.name if vector is not None else "",
        asked_at=timezone.now(),
    )
    model_insert(row)  # `row.save()` without the ORM's compile: a help-center turn that finds nothing writes one
    return row
