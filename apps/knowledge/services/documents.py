"""Documents: register them, index them (chunk + embed + postings, swapped atomically), re-index, delete.

Two steps, so unchanged documents cost a hash and one query and never load the model:

1. `document_upsert` stores the raw content and its hash. A new document whose
   content is identical to an active one is a duplicate and is not stored; an
   existing one with the same hash and the same index signature is unchanged.
2. `document_index` parses, chunks and embeds (outside any transaction, through
   the embedding cache), then swaps the chunks in one transaction: readers see
   the old chunks or the new ones, never a mix, and a failure keeps the old ones.

`ingest_documents` runs both for a batch (the `ingest` and `ingest_demo_kb`
commands); admin uploads and re-index actions enqueue `tasks.index_documents`
after commit (`indexing_queue`, apart so that the task and this module never import each other).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.errors import ApplicationError
from apps.knowledge.chunking import (
    CHUNKER_VERSION,
    ChunkDraft,
    chunk_document,
    embedding_text,
    parse_document,
    token_counter,
)
from apps.knowledge.embeddings import EmbeddingBackend, embed_texts, get_backend
from apps.knowledge.lexical import LEXICAL_VERSION, ChunkFields, postings_remove, postings_write
from apps.knowledge.models import Chunk, Document, DocumentStatus, KnowledgeSource

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocumentInput:
    """One document to ingest. `uri` identifies it within its source (URL, else path)."""

    uri: str
    format: str
    raw_content: str
    title: str = ""
    tags: tuple[str, ...] = ()


def content_hash(raw: str) -> str:
    return hashlib.sha256(normalise_content(raw).encode("utf-8")).hexdigest()


def normalise_content(raw: str) -> str:
    return raw.replace("\r\n", "\n").replace("\r", "\n").strip() + "\n"


def index_signature(backend: EmbeddingBackend) -> str:
    """What a document's chunks depend on besides its content: a change means re-indexing."""
    return (
        f"{backend.name}|chunks:{settings.KNOWLEDGE_CHUNK_MAX_TOKENS}/{settings.KNOWLEDGE_CHUNK_OVERLAP_TOKENS}"
        f"|v{CHUNKER_VERSION}|bm25:{LEXICAL_VERSION}/{settings.KNOWLEDGE_TEXT_SEARCH_CONFIG}"
    )


def current_signature() -> str:
    # Building the backend object is cheap: the model itself loads on first embed.
    return index_signature(get_backend())


def source_get_or_create(*, name: str, description: str = "") -> KnowledgeSource:
    source, _ = KnowledgeSource.objects.get_or_create(name=name, defaults={"description": description})
    return source


@dataclass(frozen=True)
class UpsertResult:
    document: Document | None
    outcome: str  # created | changed | stale | unchanged | duplicate


def document_upsert(*, source: KnowledgeSource, item: DocumentInput, signature: str) -> UpsertResult:
    """Store a document's content; say whether it needs indexing. Never embeds."""
    raw = normalise_content(item.raw_content)
    digest = content_hash(raw)
    parsed = parse_document(raw, item.format, default_title=Path(item.uri).stem or item.uri)
    title = (item.title or parsed.title)[:300]
    tags = sorted({*item.tags, *parsed.tags})
    with transaction.atomic():
        document = Document.objects.select_for_update().filter(source=source, uri=item.uri).first()
        if document is None:
            twin = Document.objects.filter(content_hash=digest, is_active=True).first()
            if twin is not None:
                logger.info("skipping %s: same content as document %s (%s)", item.uri, twin.pk, twin.uri)
                return UpsertResult(twin, "duplicate")
            document = Document(
                source=source, uri=item.uri, title=title, format=item.format, raw_content=raw, content_hash=digest
            )
            document.tags = tags
            _validate(document)
            document.save()
            return UpsertResult(document, "created")
        if document.content_hash == digest and document.title == title and document.tags == tags:
            if (
                document.indexed_hash == digest
                and document.index_signature == signature
                and document.status == DocumentStatus.READY
            ):
                return UpsertResult(document, "unchanged")
            return UpsertResult(document, "stale")
        if document.content_hash != digest:
            document.version += 1
        document.title, document.format, document.raw_content = title, item.format, raw
        document.content_hash, document.tags = digest, tags
        document.status = DocumentStatus.PENDING
        _validate(document)
        document.save()
        return UpsertResult(document, "changed")


def _validate(document: Document) -> None:
    try:
        document.full_clean()
    except ValidationError as exc:
        details = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in exc.message_dict.items())
        raise ApplicationError(f"invalid document: {details}", code="invalid_document") from exc


def chunk_drafts(document: Document) -> list[ChunkDraft]:
    parsed = parse_document(document.raw_content, document.format, default_title=document.title)
    return chunk_document(
        parsed,
        max_tokens=settings.KNOWLEDGE_CHUNK_MAX_TOKENS,
        overlap_tokens=settings.KNOWLEDGE_CHUNK_OVERLAP_TOKENS,
        count=token_counter(),
    )


def embedding_inputs(document: Document, drafts: Sequence[ChunkDraft]) -> list[str]:
    return [embedding_text(title=document.title, heading_path=d.heading_path, text=d.text) for d in drafts]


def document_index(*, document_id: int, force: bool = False, backend: EmbeddingBackend | None = None) -> int | None:
    """Chunk and embed a document and swap its chunks atomically.

    Returns the number of chunks written, or None when the document was already
    indexed from this content with this signature (and `force` is off) or
    changed again while we worked (the newer content's own run indexes it).
    Raises `EmbeddingError` after marking the document failed; its old chunks stay.
    """
    backend = backend or get_backend()
    signature = index_signature(backend)
    document = Document.objects.get(pk=document_id)
    if (
        not force
        and document.status == DocumentStatus.READY
        and document.indexed_hash == document.content_hash
        and document.index_signature == signature
    ):
        return None
    digest = document.content_hash
    drafts = chunk_drafts(document)
    try:
        vectors = embed_texts(embedding_inputs(document, drafts), backend=backend)
    except ApplicationError as exc:
        Document.objects.filter(pk=document.pk, content_hash=digest).update(
            status=DocumentStatus.FAILED, error=str(exc)[:2000], updated_at=timezone.now()
        )
        raise

    with transaction.atomic():
        document = Document.objects.select_for_update().get(pk=document_id)
        if document.content_hash != digest:
            return None
        postings_remove(list(document.chunks.values_list("pk", flat=True)))
        document.chunks.all().delete()
        created = Chunk.objects.bulk_create(
            [
                Chunk(
                    document=document,
                    position=d.position,
                    heading_path=list(d.heading_path),
                    text=d.text,
                    token_count=d.token_count,
                    embedding=vector,
                )
                for d, vector in zip(drafts, vectors, strict=True)
            ],
            batch_size=500,
        )
        postings_write(
            [
                ChunkFields(
                    chunk_id=chunk.pk, title=document.title, headings=tuple(chunk.heading_path), body=chunk.text
                )
                for chunk in created
            ]
        )
        document.status = DocumentStatus.READY
        document.indexed_hash = digest
        document.index_signature = signature
        document.embedding_model = backend.name
        document.indexed_at = timezone.now()
        document.error = ""
        document.save()
    logger.info("indexed document %s (%s): %s chunks", document.pk, document.uri, len(drafts))
    return len(drafts)


def documents_delete(*, document_ids: Sequence[int]) -> int:
    """Delete documents with their chunks, taking the chunks out of the BM25 statistics first."""
    with transaction.atomic():
        documents = Document.objects.select_for_update().filter(pk__in=list(document_ids))
        ids = list(documents.values_list("pk", flat=True))
        postings_remove(list(Chunk.objects.filter(document_id__in=ids).values_list("pk", flat=True)))
        Document.objects.filter(pk__in=ids).delete()
    return len(ids)
