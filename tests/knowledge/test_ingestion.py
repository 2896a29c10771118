import pytest

from apps.core.errors import ApplicationError
from apps.knowledge.models import Chunk, Document, DocumentStatus, EmbeddingCache
from apps.knowledge.services import ingest_paths

from .conftest import ingest, md, write

pytestmark = pytest.mark.django_db

RETURNS = md("Returns", ("Window", "Return within thirty days of delivery."), ("Fees", "A small fee applies."))
SHIPPING = md("Shipping", ("Standard", "Three to five business days."))


def test_ingesting_a_folder_creates_documents_with_chunks_vectors_and_bm25_postings(tmp_path, fake_backend):
    # given
    write(tmp_path / "kb" / "returns.md", RETURNS)
    write(tmp_path / "kb" / "sub" / "shipping.md", SHIPPING)
    write(tmp_path / "kb" / "notes.pdf", "ignored")
    write(tmp_path / "kb" / ".hidden" / "secret.md", "# Secret\n\nnot ingested")

    # when
    report = ingest_paths(paths=[tmp_path / "kb"], source_name="files")

    # then
    assert (report.created, report.changed, report.unchanged, report.failed, report.chunks) == (2, 0, 0, 0, 3)
    returns = Document.objects.get(uri=str((tmp_path / "kb" / "returns.md").resolve()))
    assert (returns.title, returns.status, returns.version, returns.format) == ("Returns", "ready", 1, "markdown")
    assert returns.indexed_hash == returns.content_hash
    assert returns.embedding_model == "test:bag-of-words"
    chunks = list(returns.chunks.order_by("position"))
    assert [(c.position, c.heading_path, c.text) for c in chunks] == [
        (0, ["Returns", "Window"], "Return within thirty days of delivery."),
        (1, ["Returns", "Fees"], "A small fee applies."),
    ]
    assert all(c.lexical_length > 0 and c.postings.exists() for c in chunks)
    assert len(chunks[0].embedding) == 384
    assert Chunk.objects.filter(postings__isnull=True).count() == 0


def test_an_unchanged_document_is_skipped_without_calling_the_backend(fake_backend):
    # given
    ingest("files", {"returns.md": RETURNS})
    chunk_ids = set(Chunk.objects.values_list("id", flat=True))
    fake_backend.reset()

    # when
    report = ingest("files", {"returns.md": RETURNS})

    # then
    assert (report.created, report.changed, report.unchanged, report.chunks) == (0, 0, 1, 0)
    assert fake_backend.calls == []
    assert set(Chunk.objects.values_list("id", flat=True)) == chunk_ids
    assert Document.objects.get().version == 1


def test_a_changed_document_gets_a_new_version_and_its_chunks_replaced(fake_backend):
    # given
    ingest("files", {"returns.md": RETURNS, "shipping.md": SHIPPING})
    old_ids = set(Chunk.objects.filter(document__uri="returns.md").values_list("id", flat=True))
    shipping_ids = set(Chunk.objects.filter(document__uri="shipping.md").values_list("id", flat=True))
    changed = RETURNS.replace("thirty", "forty-five")
    fake_backend.reset()

    # when
    report = ingest("files", {"returns.md": changed, "shipping.md": SHIPPING})

    # then
    assert (report.changed, report.unchanged) == (1, 1)
    document = Document.objects.get(uri="returns.md")
    assert (document.version, document.status) == (2, DocumentStatus.READY)
    new_chunks = list(document.chunks.order_by("position"))
    assert {c.id for c in new_chunks}.isdisjoint(old_ids)
    assert new_chunks[0].text == "Return within forty-five days of delivery."
    assert set(Chunk.objects.filter(document__uri="shipping.md").values_list("id", flat=True)) == shipping_ids
    # Indexing embedded only the changed chunk's text (later calls are the re-fit's masked chunks).
    assert fake_backend.calls[0] == ["Returns > Window\n\nReturn within forty-five days of delivery."]
    assert "Shipping > Standard\n\nThree to five business days." not in fake_backend.embedded


def test_a_failed_re_embedding_keeps_the_old_chunks_and_marks_the_document_failed(fake_backend):
    # given
    ingest("files", {"returns.md": RETURNS})
    old = list(Chunk.objects.values_list("id", "text"))
    fake_backend.fail_when = "ninety"

    # when
    report = ingest("files", {"returns.md": RETURNS.replace("thirty", "ninety")})

    # then
    assert (report.failed, report.changed, report.chunks) == (1, 0, 0)
    assert report.errors == ["returns.md: the fake backend was told to fail"]
    document = Document.objects.get()
    assert (document.status, document.error) == (DocumentStatus.FAILED, "the fake backend was told to fail")
    assert list(Chunk.objects.values_list("id", "text")) == old
    assert document.indexed_hash != document.content_hash


def test_a_new_document_with_the_same_content_as_another_is_not_stored(fake_backend):
    # given
    ingest("files", {"returns.md": RETURNS})

    # when
    report = ingest("mirror", {"copy-of-returns.md": RETURNS})

    # then
    assert (report.duplicates, report.created) == (1, 0)
    assert list(Document.objects.values_list("uri", flat=True)) == ["returns.md"]


def test_switching_the_embedding_backend_re_indexes_on_the_next_ingest(fake_backend, settings):
    # given
    ingest("files", {"returns.md": RETURNS})
    settings.KNOWLEDGE_EMBEDDING_BACKEND = "tests.knowledge.fakes.OtherBagOfWordsBackend"

    # when
    report = ingest("files", {"returns.md": RETURNS})

    # then
    assert (report.changed, report.unchanged) == (1, 0)
    document = Document.objects.get()
    assert (document.embedding_model, document.version) == ("test:other-bag-of-words", 1)
    assert set(EmbeddingCache.objects.values_list("model", flat=True)) == {
        "test:bag-of-words",
        "test:other-bag-of-words",
    }


def test_prune_removes_documents_of_the_source_that_are_gone(fake_backend):
    # given
    ingest("files", {"returns.md": RETURNS, "shipping.md": SHIPPING})
    ingest("other", {"faq.md": md("FAQ", ("Q", "Answer."))})

    # when
    report = ingest("files", {"returns.md": RETURNS}, prune=True)

    # then
    assert report.deleted == 1
    assert sorted(Document.objects.values_list("uri", flat=True)) == ["faq.md", "returns.md"]


def test_saved_pages_take_their_url_from_the_argument_a_sidecar_or_the_page(tmp_path, fake_backend):
    # given
    page = '<html><head><title>Care</title><link rel="canonical" href="https://shop.example/care"></head>'
    write(tmp_path / "care.html", page + "<body><h1>Care</h1><p>Wash cold.</p></body></html>")
    write(tmp_path / "hours.txt", "Hours\n\nNine to six.")
    write(tmp_path / "hours.txt.url", "https://shop.example/hours\n")
    write(tmp_path / "sizes.md", "# Sizes\n\nS, M, L.")

    # when
    ingest_paths(paths=[tmp_path / "care.html", tmp_path / "hours.txt"], source_name="web")
    ingest_paths(paths=[tmp_path / "sizes.md"], source_name="web", url="https://shop.example/sizes")

    # then
    assert sorted(Document.objects.values_list("uri", "title", "format")) == [
        ("https://shop.example/care", "Care", "html"),
        ("https://shop.example/hours", "Hours", "text"),
        ("https://shop.example/sizes", "Sizes", "markdown"),
    ]


def test_ingesting_a_missing_path_is_refused_before_anything_is_stored(tmp_path, fake_backend):
    # given
    write(tmp_path / "returns.md", RETURNS)

    # when / then
    with pytest.raises(ApplicationError, match="no such file or folder"):
        ingest_paths(paths=[tmp_path / "returns.md", tmp_path / "missing.md"], source_name="files")
    assert Document.objects.count() == 0
    assert fake_backend.calls == []


def test_an_invalid_document_fails_alone_and_the_others_are_ingested(fake_backend):
    # given a URI longer than the 1000 characters a document may have
    too_long = "https://shop.example/" + "x" * 1000

    # when
    report = ingest("files", {too_long: md("Long", ("A", "Text a.")), "returns.md": RETURNS})

    # then
    assert (report.failed, report.created) == (1, 1)
    assert report.errors[0].endswith(
        "invalid document: uri: Ensure this value has at most 1000 characters (it has 1021)."
    )
    assert list(Document.objects.values_list("uri", flat=True)) == ["returns.md"]
