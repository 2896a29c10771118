"""Writing the knowledge base. Import from here: `from apps.knowledge.services import ingest_documents`.

- `documents`: `document_upsert` (store content and its hash; unchanged documents cost a hash
  and one query and never load the model), `document_index` (parse, chunk, embed outside any
  transaction, then swap chunks and postings in one), re-index, delete;
- `ingestion`: files and folders to documents, `ingest_documents` / `ingest_paths` (batches:
  upsert, one batched embedding call, index each, refit the retrieval profile), admin uploads;
- `indexing_queue`: `documents_enqueue_index` / `documents_reindex` (queue the Celery indexer after commit);
- `sync`: the JSON API's put, update and sync;
- `gaps`: `unanswered_question_record` (the gaps report's input).
"""

from apps.knowledge.services.documents import (
    DocumentInput,
    UpsertResult,
    content_hash,
    current_signature,
    document_index,
    document_upsert,
    documents_delete,
    index_signature,
    normalise_content,
    source_get_or_create,
)
from apps.knowledge.services.gaps import UNANSWERED_MAX_CHARS, unanswered_question_record
from apps.knowledge.services.indexing_queue import documents_enqueue_index, documents_reindex
from apps.knowledge.services.ingestion import (
    INDEX_BATCH_DOCUMENTS,
    SUFFIX_FORMATS,
    URL_SIDECAR_SUFFIX,
    IngestReport,
    collect_files,
    document_input_from_file,
    document_upload,
    format_for_path,
    ingest_documents,
    ingest_paths,
)
from apps.knowledge.services.sync import API_FORMATS, SyncReport, document_put, document_update, documents_sync

__all__ = [
    "API_FORMATS",
    "INDEX_BATCH_DOCUMENTS",
    "SUFFIX_FORMATS",
    "UNANSWERED_MAX_CHARS",
    "URL_SIDECAR_SUFFIX",
    "DocumentInput",
    "IngestReport",
    "SyncReport",
    "UpsertResult",
    "collect_files",
    "content_hash",
    "current_signature",
    "document_index",
    "document_input_from_file",
    "document_put",
    "document_update",
    "document_upload",
    "document_upsert",
    "documents_delete",
    "documents_enqueue_index",
    "documents_reindex",
    "documents_sync",
    "format_for_path",
    "index_signature",
    "ingest_documents",
    "ingest_paths",
    "normalise_content",
    "source_get_or_create",
    "unanswered_question_record",
]
