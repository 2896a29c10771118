"""Writing the knowledge base: register documents, index them (chunk + embed), re-index.

Two steps, so unchanged documents cost a hash and one query and never load the model:

1. `document_upsert` stores the raw content and its hash. A new document whose
   content is identical to an active one is a duplicate and is not stored; an
   existing one with the same hash and the same index signature is unchanged.
2. `document_index` parses, chunks and embeds (outside any transaction, through
   the embedding cache), then swaps the chunks in one transaction: readers see
   the old chunks or the new ones, never a mix, and a failure keeps the old ones.

`ingest_documents` runs both for a batch (the `ingest` and `ingest_demo_kb`
commands); admin uploads and re-index actions enqueue `tasks.index_documents`
after commit.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.errors import ApplicationError

from .chunking import CHUNKER_VERSION, ChunkDraft, chunk_document, embedding_text, parse_document, token_counter
from .embeddings import EmbeddingBackend, embed_texts, get_backend
from .lexical import LEXICAL_VERSION, ChunkFields, postings_remove, postings_write
from .models import Chunk, Document, DocumentFormat, DocumentStatus, KnowledgeSource, UnansweredQuestion

logger = logging.getLogger(__name__)

SUFFIX_FORMATS = {
    ".md": DocumentFormat.MARKDOWN,
    ".markdown": DocumentFormat.MARKDOWN,
    ".html": DocumentFormat.HTML,
    ".htm": DocumentFormat.HTML,
    ".txt": DocumentFormat.TEXT,
    ".text": DocumentFormat.TEXT,
}
URL_SIDECAR_SUFFIX = ".url"


@dataclass(frozen=True)
class DocumentInput:
    """One document to ingest. `uri` identifies it within its source (URL, else path)."""

    uri: str
    format: str
    raw_content: str
    title: str = ""
    tags: tuple[str, ...] = ()


@dataclass
class IngestReport:
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    duplicates: int = 0
    failed: int = 0
    deleted: int = 0
    chunks: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.created + self.changed + self.unchanged + self.duplicates + self.failed

    def summary(self) -> str:
        return (
            f"{self.total} documents: {self.created} new, {self.changed} re-indexed, {self.unchanged} unchanged, "
            f"{self.duplicates} duplicates skipped, {self.failed} failed, {self.deleted} removed; "
            f"{self.chunks} chunks written"
        )


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


# --- files ------------------------------------------------------------------


def format_for_path(path: Path) -> str | None:
    return SUFFIX_FORMATS.get(path.suffix.lower())


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files to ingest under the given files and folders, sorted, hidden ones skipped."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and format_for_path(p)
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        elif path.is_file():
            if not format_for_path(path):
                raise ApplicationError(f"{path}: unsupported file type (use .md, .html or .txt)", code="unsupported")
            found.append(path)
        else:
            raise ApplicationError(f"{path}: no such file or folder", code="not_found")
    return found


def document_input_from_file(path: Path, *, url: str = "", tags: Sequence[str] = ()) -> DocumentInput:
    """A saved file as a document. Its URI is, in order: `url`, a `<file>.url` sidecar holding
    the page's address, the URL the document names itself (front matter, canonical link), the path."""
    fmt = format_for_path(path)
    if fmt is None:
        raise ApplicationError(f"{path}: unsupported file type", code="unsupported")
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(f"{path}: not UTF-8 text", code="unsupported") from exc
    sidecar = path.with_name(path.name + URL_SIDECAR_SUFFIX)
    if not url and sidecar.is_file():
        url = sidecar.read_text(encoding="utf-8").strip().splitlines()[0].strip() if sidecar.stat().st_size else ""
    if not url:
        url = parse_document(raw, fmt, default_title=path.stem).url
    return DocumentInput(uri=url or str(path.resolve()), format=fmt, raw_content=raw, tags=tuple(tags))


# --- documents --------------------------------------------------------------


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


def _chunk_drafts(document: Document) -> list[ChunkDraft]:
    parsed = parse_document(document.raw_content, document.format, default_title=document.title)
    return chunk_document(
        parsed,
        max_tokens=settings.KNOWLEDGE_CHUNK_MAX_TOKENS,
        overlap_tokens=settings.KNOWLEDGE_CHUNK_OVERLAP_TOKENS,
        count=token_counter(),
    )


def _embedding_inputs(document: Document, drafts: Sequence[ChunkDraft]) -> list[str]:
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
    drafts = _chunk_drafts(document)
    try:
        vectors = embed_texts(_embedding_inputs(document, drafts), backend=backend)
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


INDEX_BATCH_DOCUMENTS = 32


def ingest_documents(
    *,
    source: KnowledgeSource,
    items: Iterable[DocumentInput],
    force: bool = False,
    prune: bool = False,
    progress: Callable[[DocumentInput, str], None] | None = None,
) -> IngestReport:
    """Upsert then index each document. With `prune`, documents of the source not in `items` are deleted.

    Documents are handled in groups: the chunks of every document in a group that
    needs indexing are embedded in one batched call (filling the cache), then each
    document is swapped in on its own, so one failure never blocks the others.
    """
    report = IngestReport()
    signature = current_signature()
    seen: set[str] = set()
    group: list[DocumentInput] = []
    for item in items:
        seen.add(item.uri)
        group.append(item)
        if len(group) == INDEX_BATCH_DOCUMENTS:
            _ingest_group(
                source=source, items=group, signature=signature, force=force, report=report, progress=progress
            )
            group = []
    _ingest_group(source=source, items=group, signature=signature, force=force, report=report, progress=progress)
    if prune:
        stale = Document.objects.filter(source=source).exclude(uri__in=seen)
        report.deleted = documents_delete(document_ids=list(stale.values_list("pk", flat=True)))
    if report.created or report.changed or report.deleted:
        from .fitting import retrieval_profile_fit

        retrieval_profile_fit()
    return report


def _ingest_group(
    *,
    source: KnowledgeSource,
    items: list[DocumentInput],
    signature: str,
    force: bool,
    report: IngestReport,
    progress: Callable[[DocumentInput, str], None] | None,
) -> None:
    todo: list[tuple[DocumentInput, UpsertResult]] = []
    for item in items:
        try:
            result = document_upsert(source=source, item=item, signature=signature)
        except ApplicationError as exc:
            _record_failure(report, item, exc, progress)
            continue
        if result.outcome == "duplicate" or (result.outcome == "unchanged" and not force):
            if result.outcome == "duplicate":
                report.duplicates += 1
            else:
                report.unchanged += 1
            if progress:
                progress(item, result.outcome)
            continue
        todo.append((item, result))
    _warm_embeddings([result.document for _, result in todo if result.document is not None])
    for item, result in todo:
        assert result.document is not None
        try:
            written = document_index(document_id=result.document.pk, force=True)
        except ApplicationError as exc:
            _record_failure(report, item, exc, progress)
            continue
        report.chunks += written or 0
        if result.outcome == "created":
            report.created += 1
        else:
            report.changed += 1
        if progress:
            progress(item, result.outcome)


def _record_failure(
    report: IngestReport,
    item: DocumentInput,
    exc: ApplicationError,
    progress: Callable[[DocumentInput, str], None] | None,
) -> None:
    report.failed += 1
    report.errors.append(f"{item.uri}: {exc.message}")
    if progress:
        progress(item, "failed")


def _warm_embeddings(documents: Sequence[Document]) -> None:
    """One batched embedding call for several documents; per-document indexing then hits the cache."""
    if len(documents) < 2:
        return
    texts = [text for document in documents for text in _embedding_inputs(document, _chunk_drafts(document))]
    try:
        embed_texts(texts)
    except ApplicationError as exc:
        # Each document retries on its own and records its own failure.
        logger.info("batched embedding failed, indexing one by one: %s", exc)


def ingest_paths(
    *,
    paths: Sequence[Path],
    source_name: str,
    url: str = "",
    tags: Sequence[str] = (),
    force: bool = False,
    prune: bool = False,
    progress: Callable[[DocumentInput, str], None] | None = None,
) -> IngestReport:
    files = collect_files(paths)
    if url and len(files) != 1:
        raise ApplicationError("a URL can be given for exactly one file", code="invalid")
    source = source_get_or_create(name=source_name)
    items = (document_input_from_file(path, url=url, tags=tags) for path in files)
    return ingest_documents(source=source, items=items, force=force, prune=prune, progress=progress)


def document_upload(
    *, source: KnowledgeSource, filename: str, content: bytes, url: str = "", tags: Sequence[str] = ()
) -> UpsertResult:
    """An admin upload: store it now, index it in Celery after commit."""
    path = Path(filename)
    fmt = format_for_path(path)
    if fmt is None:
        raise ApplicationError(f"{filename}: unsupported file type (use .md, .html or .txt)", code="unsupported")
    if len(content) > settings.KNOWLEDGE_UPLOAD_MAX_BYTES:
        raise ApplicationError(f"{filename}: larger than {settings.KNOWLEDGE_UPLOAD_MAX_BYTES} bytes", code="too_large")
    try:
        raw = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(f"{filename}: not UTF-8 text", code="unsupported") from exc
    if not url:
        url = parse_document(raw, fmt, default_title=path.stem).url
    item = DocumentInput(uri=url or f"upload/{path.name}", format=fmt, raw_content=raw, tags=tuple(tags))
    result = document_upsert(source=source, item=item, signature=current_signature())
    if result.outcome in ("created", "changed", "stale"):
        assert result.document is not None
        documents_enqueue_index(document_ids=[result.document.pk])
    return result


def documents_enqueue_index(*, document_ids: Sequence[int], force: bool = False) -> None:
    """Index in Celery once the current transaction commits (the rows must be visible to the worker)."""
    from .tasks import index_documents

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


def documents_delete(*, document_ids: Sequence[int]) -> int:
    """Delete documents with their chunks, taking the chunks out of the BM25 statistics first."""
    with transaction.atomic():
        documents = Document.objects.select_for_update().filter(pk__in=list(document_ids))
        ids = list(documents.values_list("pk", flat=True))
        postings_remove(list(Chunk.objects.filter(document_id__in=ids).values_list("pk", flat=True)))
        Document.objects.filter(pk__in=ids).delete()
    return len(ids)


UNANSWERED_MAX_CHARS = 500


def unanswered_question_record(*, question: str, best_score: float | None) -> UnansweredQuestion | None:
    """Keep a question the knowledge base could not answer, for the gaps report.

    The question is what the FAQ specialist searched for (already through the input
    guardrail). Its embedding comes from the cache (the search just embedded it), so
    grouping similar questions later costs no model call.
    """
    text = " ".join(question.split())[:UNANSWERED_MAX_CHARS]
    if not text:
        return None
    backend = get_backend()
    try:
        vector = embed_texts([text], backend=backend)[0]
    except ApplicationError:
        vector = None
    row = UnansweredQuestion(
        question=text,
        best_score=best_score,
        embedding=vector,
        embedding_model=backend.name if vector is not None else "",
        asked_at=timezone.now(),
    )
    row.save()
    return row


# --- operations (JSON API) ---------------------------------------------------

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
