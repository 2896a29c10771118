"""The knowledge base: sources, documents, their chunks with embeddings, and the embedding cache.

Rows change only through `apps.knowledge.services`; retrieval reads them through
`apps.knowledge.selectors.knowledge_search`.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models.functions import Cast
from pgvector.django import HalfVectorField, HnswIndex, VectorField

from apps.core.models import TimeStampedModel

EMBEDDING_DIMENSIONS = 384


class KnowledgeSource(TimeStampedModel):
    """Where documents come from: a folder, admin uploads, the demo knowledge base."""

    name = models.SlugField(max_length=80, unique=True)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DocumentFormat(models.TextChoices):
    MARKDOWN = "markdown", "Markdown"
    HTML = "html", "HTML"
    TEXT = "text", "Plain text"


class DocumentStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be indexed"
    READY = "ready", "Indexed"
    FAILED = "failed", "Indexing failed"


class Document(TimeStampedModel):
    """One document, identified by its source and URI (a URL when known, else a path).

    The raw content is kept so a document can be re-indexed (new chunking, another
    embedding backend) without its file. `content_hash` is the hash of that content;
    `indexed_hash` and `index_signature` say what its current chunks were built from,
    so an unchanged document is skipped without loading the embedding model.
    """

    source = models.ForeignKey(KnowledgeSource, on_delete=models.PROTECT, related_name="documents")
    uri = models.CharField(max_length=1000, help_text="Source URL for citations, or the file path.")
    title = models.CharField(max_length=300)
    format = models.CharField(max_length=10, choices=DocumentFormat.choices)
    raw_content = models.TextField()
    content_hash = models.CharField(max_length=64, db_index=True)
    version = models.PositiveIntegerField(default=1, help_text="Goes up each time the content changes.")
    status = models.CharField(max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.PENDING)
    is_active = models.BooleanField(default=True, help_text="Inactive documents are never retrieved.")
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    indexed_hash = models.CharField(max_length=64, blank=True)
    index_signature = models.CharField(max_length=200, blank=True, help_text="Embedding model and chunking used.")
    embedding_model = models.CharField(max_length=120, blank=True)
    indexed_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["source__name", "title", "id"]
        constraints = [models.UniqueConstraint(fields=["source", "uri"], name="knowledge_document_unique_uri")]
        indexes = [GinIndex(fields=["tags"], name="knowledge_document_tags_gin")]

    def __str__(self) -> str:
        return self.title


class Chunk(models.Model):
    """A heading-bounded piece of a document: what retrieval returns and the agent cites."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField(help_text="Order within the document, from 0.")
    heading_path = ArrayField(models.CharField(max_length=300), default=list, blank=True)
    text = models.TextField()
    token_count = models.PositiveIntegerField()
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    # BM25 length of the chunk's field-weighted pseudo-document (see apps.knowledge.lexical);
    # written with its postings in the same transaction.
    lexical_length = models.FloatField(default=0.0)

    class Meta:
        ordering = ["document_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="knowledge_chunk_unique_position"),
        ]
        indexes = [
            # Lets a search read candidates' documents without their (wide) chunk rows.
            models.Index(fields=["id"], include=["document"], name="knowledge_chunk_id_document"),
            # The HNSW graph over the embedding cast to halfvec (2 bytes a dimension: 130 MB against 203 MB
            # at 100k chunks, 6% less PostgreSQL CPU per search); the scan orders by the cast, the distance
            # a search returns is computed from the stored full-precision vector. m / ef_construction
            # measured at 100k chunks (docs/knowledge.md, Measured): recall@10 against exact search at
            # ef_search 150 was 0.978 with ef_construction 128 and 0.984 with 256 (m 16 / 64: 0.963 at
            # ef_search 200). Built by migrate (about a second for a help centre; minutes at 100k chunks).
            HnswIndex(
                OpClass(Cast("embedding", HalfVectorField(dimensions=EMBEDDING_DIMENSIONS)), name="halfvec_cosine_ops"),
                name="knowledge_chunk_halfvec_hnsw",
                m=32,
                ef_construction=256,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.position}"


class Term(models.Model):
    """A lexeme of the knowledge base (PostgreSQL text search, stemmed) and in how many chunks it occurs."""

    lexeme = models.CharField(max_length=255, unique=True)
    chunk_frequency = models.IntegerField(default=0)

    def __str__(self) -> str:
        return self.lexeme


class Posting(models.Model):
    """One term in one chunk: its field-weighted frequency and the chunk's BM25 length (denormalised so
    scoring reads this table's covering index only)."""

    term = models.ForeignKey(Term, on_delete=models.CASCADE, related_name="+")
    chunk = models.ForeignKey(Chunk, on_delete=models.CASCADE, related_name="postings")
    frequency = models.FloatField()
    length = models.FloatField()
    # The term's BM25 saturation part under the average length when written: orders a term's
    # postings best first (scores themselves are computed from frequency and length at query time).
    impact = models.FloatField(default=0.0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["term", "chunk"], include=["frequency", "length"], name="knowledge_posting_term_chunk"
            )
        ]
        indexes = [
            models.Index(
                fields=["term", "-impact"],
                include=["chunk", "frequency", "length"],
                name="knowledge_posting_impact",
            )
        ]

    def __str__(self) -> str:
        return f"{self.term_id}@{self.chunk_id}"


class RetrievalProfile(models.Model):
    """The knowledge base's own statistics and fitted retrieval parameters (one row).

    `chunk_count` and `total_length` are BM25's N and the sum of lengths, updated by every
    chunk swap and deletion. `vector_weight` (fusion) and `answer_threshold` (the fused score
    below which nothing counts as an answer) are fitted from the knowledge base's own
    documents by `services.retrieval_profile_fit`.
    """

    chunk_count = models.IntegerField(default=0)
    total_length = models.FloatField(default=0.0)
    vector_weight = models.FloatField(default=0.5)
    answer_threshold = models.FloatField(default=0.0)
    fitted_at = models.DateTimeField(null=True, blank=True)
    fitted_chunk_count = models.IntegerField(default=0, help_text="chunk_count when last fitted")
    fit_report = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"w_vector={self.vector_weight:.2f} threshold={self.answer_threshold:.3f}"


class UnansweredQuestion(models.Model):
    """A question the FAQ specialist found no answer for (the gaps report groups them)."""

    question = models.CharField(max_length=500)
    best_score = models.FloatField(null=True, blank=True)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_model = models.CharField(max_length=120, blank=True)
    asked_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-asked_at", "-id"]

    def __str__(self) -> str:
        return self.question[:80]


class EmbeddingCache(models.Model):
    """Text hash + model -> vector, so the same text is never embedded twice."""

    text_hash = models.CharField(max_length=64)
    model = models.CharField(max_length=120)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["text_hash", "model"], name="knowledge_embedding_cache_key")]

    def __str__(self) -> str:
        return f"{self.model}:{self.text_hash[:12]}"
