import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.accounts.models import User
from apps.knowledge.models import Chunk, Document, DocumentStatus
from apps.knowledge.tasks import index_documents

from .conftest import ingest, md

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser(username="root", email="root@example.com", password="pw-12345678")
    client.force_login(user)
    return client


def test_uploaded_documents_are_stored_then_indexed_by_celery_after_commit(
    admin_client, fake_backend, django_capture_on_commit_callbacks
):
    # given
    files = [
        SimpleUploadedFile("care.md", b"# Care\n\n## Wool\n\nHand wash cold."),
        SimpleUploadedFile("hours.txt", b"Hours\n\nNine to six."),
    ]

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = admin_client.post(
            reverse("admin:knowledge_document_upload"), {"source": "uploads", "files": files, "tags": "care, faq"}
        )

    # then stored, not yet indexed
    assert response.status_code == 302
    assert sorted(Document.objects.values_list("uri", "status", "tags")) == [
        ("upload/care.md", "pending", ["care", "faq"]),
        ("upload/hours.txt", "pending", ["care", "faq"]),
    ]
    assert Chunk.objects.count() == 0
    assert fake_backend.calls == []
    assert len(callbacks) == 2

    # when the after-commit callbacks run (Celery is eager in tests)
    for callback in callbacks:
        callback()

    # then
    assert set(Document.objects.values_list("status", flat=True)) == {DocumentStatus.READY}
    assert sorted(Chunk.objects.values_list("document__uri", "text")) == [
        ("upload/care.md", "Hand wash cold."),
        ("upload/hours.txt", "Nine to six."),
    ]


def test_an_unsupported_upload_is_refused_and_nothing_is_stored(
    admin_client, fake_backend, django_capture_on_commit_callbacks
):
    # given
    upload = SimpleUploadedFile("manual.pdf", b"%PDF-1.7")

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(
            reverse("admin:knowledge_document_upload"), {"source": "uploads", "files": [upload]}
        )

    # then
    assert response.status_code == 302
    assert Document.objects.count() == 0
    assert callbacks == []


def test_upload_page_needs_the_add_permission(client):
    # given
    user = User.objects.create_user(username="staff", password="pw-12345678", is_staff=True)
    client.force_login(user)

    # when
    response = client.get(reverse("admin:knowledge_document_upload"))

    # then
    assert response.status_code == 403


def test_reindex_action_rebuilds_the_chunks_in_the_background(
    admin_client, fake_backend, django_capture_on_commit_callbacks
):
    # given
    ingest("help", {"returns.md": md("Returns", ("Window", "Thirty days."))})
    document = Document.objects.get()
    old_ids = set(Chunk.objects.values_list("id", flat=True))

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(
            reverse("admin:knowledge_document_changelist"),
            {"action": "reindex_selected", "_selected_action": [document.pk]},
        )

    # then
    assert response.status_code == 302
    assert len(callbacks) == 1
    document.refresh_from_db()
    assert document.status == DocumentStatus.READY
    new_ids = set(Chunk.objects.values_list("id", flat=True))
    assert len(new_ids) == 1
    assert new_ids.isdisjoint(old_ids)


def test_the_index_task_is_safe_to_run_twice_and_for_deleted_documents(fake_backend):
    # given
    ingest("help", {"returns.md": md("Returns", ("Window", "Thirty days."))})
    document = Document.objects.get()
    ids = set(Chunk.objects.values_list("id", flat=True))
    fake_backend.reset()

    # when
    index_documents([document.pk, 999_999])
    index_documents([document.pk])

    # then
    assert set(Chunk.objects.values_list("id", flat=True)) == ids
    assert fake_backend.calls == []


def test_document_list_and_change_pages_render(admin_client, fake_backend):
    # given
    ingest("help", {"returns.md": md("Returns", ("Window", "Thirty days."))})
    document = Document.objects.get()

    # when
    listing = admin_client.get(reverse("admin:knowledge_document_changelist"))
    change = admin_client.get(reverse("admin:knowledge_document_change", args=[document.pk]))
    upload = admin_client.get(reverse("admin:knowledge_document_upload"))

    # then
    assert (listing.status_code, change.status_code, upload.status_code) == (200, 200, 200)
    assert b"Upload documents" in listing.content
    assert b"Thirty days." in change.content
