import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.roles import OPERATOR, SUPPORT_AGENT
from apps.knowledge.models import Chunk, Document, UnansweredQuestion
from apps.knowledge.services import unanswered_question_record
from apps.knowledge.tasks import index_documents

from .conftest import ingest, md

pytestmark = pytest.mark.django_db

RETURNS = "# Returns\n\n## Window\n\nReturn within thirty days of delivery.\n"


def _client(role: str | None, *, staff: bool = True) -> APIClient:
    user = User.objects.create_user(username=f"u-{role}-{staff}", password="pw-12345678", is_staff=staff)
    if role:
        user.groups.add(Group.objects.get(name=role))
    client = APIClient()
    client.force_authenticate(user)
    return client


def _payload(**overrides: object) -> dict:
    return {"source": "help", "uri": "https://shop.example/help/returns", "format": "markdown", "content": RETURNS} | (
        overrides
    )


def test_an_operator_adds_a_document_which_celery_indexes_after_commit(
    fake_backend, django_capture_on_commit_callbacks
):
    # given
    client = _client(OPERATOR)

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("api-knowledge-documents"), _payload(tags=["policy"]), format="json")

    # then stored and queued, not yet indexed
    assert response.status_code == 201
    body = response.json()
    assert (body["outcome"], body["document"]["status"], body["document"]["tags"]) == ("created", "pending", ["policy"])
    document = Document.objects.get()
    assert (document.source.name, document.uri, document.title) == (
        "help",
        "https://shop.example/help/returns",
        "Returns",
    )
    assert len(callbacks) == 1
    assert not Chunk.objects.exists()


def test_an_operator_updates_and_removes_a_document(fake_backend, django_capture_on_commit_callbacks):
    # given an indexed document
    ingest("help", {"https://shop.example/help/returns": RETURNS})
    document = Document.objects.get()
    client = _client(OPERATOR)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        updated = client.put(
            reverse("api-knowledge-document", args=[document.pk]),
            {"content": "# Returns\n\n## Window\n\nReturn within sixty days of delivery.\n"},
            format="json",
        )
    index_documents([document.pk])

    # then re-indexed with the new text
    assert updated.status_code == 200
    assert updated.json()["outcome"] == "changed"
    assert list(Chunk.objects.values_list("text", flat=True)) == ["Return within sixty days of delivery."]

    # when
    removed = client.delete(reverse("api-knowledge-document", args=[document.pk]))

    # then
    assert removed.status_code == 204
    assert not Document.objects.exists()
    assert not Chunk.objects.exists()


@pytest.mark.parametrize(
    ("role", "staff"),
    [(None, True), (SUPPORT_AGENT, True), (OPERATOR, False)],
    ids=["staff-without-role", "support-agent", "operator-without-staff-flag"],
)
def test_callers_without_the_operator_permissions_are_refused_and_nothing_is_written(
    fake_backend, django_capture_on_commit_callbacks, role, staff
):
    # given an existing document
    ingest("help", {"https://shop.example/help/returns": RETURNS})
    document = Document.objects.get()
    client = _client(role, staff=staff)

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        added = client.post(reverse("api-knowledge-documents"), _payload(uri="https://shop.example/new"), format="json")
        changed = client.put(
            reverse("api-knowledge-document", args=[document.pk]), {"content": "# Other\n\ntext"}, format="json"
        )
        deleted = client.delete(reverse("api-knowledge-document", args=[document.pk]))
        synced = client.post(
            reverse("api-knowledge-sync"), {"source": "help", "documents": [], "prune": True}, format="json"
        )

    # then refused, and the knowledge base is as it was
    assert [r.status_code for r in (added, changed, deleted, synced)] == [403, 403, 403, 403]
    assert list(Document.objects.values_list("uri", "raw_content")) == [("https://shop.example/help/returns", RETURNS)]
    assert Chunk.objects.count() == 1
    assert callbacks == []


def test_an_anonymous_caller_cannot_even_list_documents(fake_backend):
    # given
    ingest("help", {"https://shop.example/help/returns": RETURNS})

    # when
    response = APIClient().get(reverse("api-knowledge-documents"))

    # then
    assert response.status_code == 403


def test_sync_makes_a_source_hold_exactly_the_uploaded_list(fake_backend, django_capture_on_commit_callbacks):
    # given two documents in the source
    ingest(
        "help",
        {
            "https://shop.example/help/returns": RETURNS,
            "https://shop.example/help/old": md("Old page", ("Gone", "Removed from the site.")),
        },
    )
    client = _client(OPERATOR)
    documents = [
        {"uri": "https://shop.example/help/returns", "format": "markdown", "content": RETURNS},
        {"uri": "https://shop.example/help/care", "format": "html", "content": "<h1>Care</h1><p>Hand wash.</p>"},
    ]

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("api-knowledge-sync"), {"source": "help", "documents": documents, "prune": True}, format="json"
        )

    # then
    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["changed"], body["unchanged"], body["deleted"]) == (1, 0, 1, 1)
    assert sorted(Document.objects.values_list("uri", flat=True)) == [
        "https://shop.example/help/care",
        "https://shop.example/help/returns",
    ]
    assert len(callbacks) == 1  # only the new page is indexed


def test_an_invalid_upload_is_refused_with_its_reason_and_nothing_is_stored(fake_backend):
    # given
    client = _client(OPERATOR)

    # when
    response = client.post(reverse("api-knowledge-documents"), _payload(content="   "), format="json")

    # then
    assert response.status_code == 400
    assert not Document.objects.exists()


def test_the_gaps_report_groups_similar_unanswered_questions(fake_backend):
    # given
    for question in [
        "do you have a loyalty points program",
        "loyalty points program do you have",
        "Do you have a loyalty points program",
        "can I pay with bitcoin",
    ]:
        unanswered_question_record(question=question, best_score=0.1)
    client = _client(OPERATOR)

    # when
    response = client.get(reverse("api-knowledge-gaps"))

    # then the three loyalty questions (same words: the same bag-of-words vector) are one group
    assert response.status_code == 200
    groups = response.json()
    assert [(g["count"], g["question"]) for g in groups] == [
        (3, "Do you have a loyalty points program"),
        (1, "can I pay with bitcoin"),
    ]
    assert UnansweredQuestion.objects.count() == 4
