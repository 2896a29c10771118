"""Ingestion: files and folders to documents, and batches of documents upserted then indexed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from apps.core.errors import ApplicationError
from apps.knowledge.chunking import parse_document
from apps.knowledge.embeddings import embed_texts
from apps.knowledge.models import Document, DocumentFormat, KnowledgeSource
from apps.knowledge.services.documents import (
    DocumentInput,
    UpsertResult,
    chunk_drafts,
    current_signature,
    document_index,
    document_upsert,
    documents_delete,
    embedding_inputs,
    source_get_or_create,
)
from apps.knowledge.services.indexing_queue import documents_enqueue_index

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
        from apps.knowledge.fitting import retrieval_profile_fit

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
    texts = [text for document in documents for text in embedding_inputs(document, chunk_drafts(document))]
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
