"""The JSON API: start, post (idempotent), transcript, verify, feedback, CSAT, limits, schema."""

from __future__ import annotations

import time

import pytest
from django.test import Client

from apps.conversations import identity, services
from apps.conversations.models import Conversation, Feedback, Message
from tests.conversations.conftest import make_customer, make_order, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def _start(client: Client, **headers) -> dict:
    response = client.post("/api/v1/conversations/", {}, content_type="application/json", headers=headers)
    assert response.status_code == 201, response.content
    return response.json()


def test_start_post_and_read_a_transcript(turns):
    # given a guest API client
    client = Client()
    started = _start(client)
    cid = started["conversation"]
    # when they post a message, and post it again (a retry)
    body = {"client_message_id": "api-1", "text": "Do you ship to Norway?"}
    first = client.post(f"/api/v1/conversations/{cid}/messages/", body, content_type="application/json")
    again = client.post(f"/api/v1/conversations/{cid}/messages/", body, content_type="application/json")
    transcript = client.get(f"/api/v1/conversations/{cid}/").json()
    # then it is stored once, answered once, and the transcript shows it
    assert started["status"] == "open"
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert len(turns) == 1
    assert [(m["seq"], m["role"], m["text"]) for m in transcript["messages"]] == [
        (1, "customer", "Do you ship to Norway?")
    ]
    assert Conversation.objects.get().channel == "api"


def test_transcript_after_seq_returns_only_newer_messages(turns):
    client = Client()
    cid = _start(client)["conversation"]
    conversation = Conversation.objects.get(public_id=cid)
    for text in ("a", "b", "c"):
        services.message_create(conversation=conversation, role="assistant", text=text)
    messages = client.get(f"/api/v1/conversations/{cid}/?after_seq=1").json()["messages"]
    assert [m["text"] for m in messages] == ["b", "c"]


def test_another_client_cannot_read_or_post_without_the_access_key(turns):
    cid_owner = _start(Client())
    stranger = Client()
    cid = cid_owner["conversation"]
    assert stranger.get(f"/api/v1/conversations/{cid}/").status_code == 404
    response = stranger.post(
        f"/api/v1/conversations/{cid}/messages/",
        {"client_message_id": "x", "text": "hi"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "No such conversation."}}
    assert Message.objects.count() == 0
    # with the access key from the start response it works (e.g. a server-side integration)
    ok = stranger.get(f"/api/v1/conversations/{cid}/", headers={"X-Chat-Access": cid_owner["access"]})
    assert ok.status_code == 200


def test_identity_token_binds_the_conversation_to_the_customer(settings, turns):
    settings.CHAT_IDENTITY_SECRET = "s3cret"
    customer = make_customer()
    token = identity.identity_token_sign(customer_id=customer.pk, expires_at=int(time.time()) + 600)
    cid = _start(Client(), **{"X-Chat-Identity": token})["conversation"]
    assert Conversation.objects.get(public_id=cid).customer == customer
    # a bad token is refused outright
    response = Client().post(
        "/api/v1/conversations/", {}, content_type="application/json", headers={"X-Chat-Identity": token + "0"}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "invalid_identity"
    assert Conversation.objects.count() == 1


def test_message_rate_limit_is_shared_with_the_socket(settings, turns):
    settings.CHAT_RATE_PER_CUSTOMER = "2/h"
    client = Client()
    cid = _start(client)["conversation"]
    codes = [
        client.post(
            f"/api/v1/conversations/{cid}/messages/",
            {"client_message_id": f"m{i}", "text": "hi"},
            content_type="application/json",
        ).status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]
    assert Message.objects.count() == 2
    assert len(turns) == 2


def test_new_conversations_are_limited_per_address_on_http(settings, turns):
    # given a limit of two new conversations per address
    settings.CHAT_RATE_CONVERSATIONS_PER_IP = "2/h"
    # when one address starts three, each from a new client without cookies
    responses = [Client().post("/api/v1/conversations/", {}, content_type="application/json") for _ in range(3)]
    # then the third is refused and not created
    assert [r.status_code for r in responses] == [201, 201, 429]
    assert responses[2].json() == {
        "error": {"code": "rate_limited", "message": "Too many new conversations from your network. Try again later."}
    }
    assert Conversation.objects.count() == 2


def test_invalid_message_is_refused_with_a_code(turns):
    client = Client()
    cid = _start(client)["conversation"]
    response = client.post(
        f"/api/v1/conversations/{cid}/messages/",
        {"client_message_id": "e", "text": "   "},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert Message.objects.count() == 0
    assert turns == []


def test_verify_feedback_and_csat(turns):
    customer = make_customer(email="lin@example.com")
    order = make_order(customer=customer, number="TW-8080")
    client = Client()
    cid = _start(client)["conversation"]
    url = f"/api/v1/conversations/{cid}"
    bad = client.post(f"{url}/verify/", {"order_number": "TW-8080", "email": "x@example.com"}, "application/json")
    good = client.post(f"{url}/verify/", {"order_number": "TW-8080", "email": "lin@example.com"}, "application/json")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "verification_failed"
    assert good.json()["verified_order"] == "TW-8080"
    assert Conversation.objects.get(public_id=cid).verified_order == order
    conversation = Conversation.objects.get(public_id=cid)
    answer = services.message_create(conversation=conversation, role="assistant", text="It shipped.")
    fb = client.post(f"{url}/feedback/", {"message": answer.pk, "rating": "up"}, "application/json")
    assert fb.json() == {"message": answer.pk, "rating": "up"}
    assert Feedback.objects.get().rating == "up"
    assert client.get(f"{url}/").json()["feedback"] == {str(answer.pk): "up"}
    early = client.post(f"{url}/csat/", {"score": 5}, "application/json")
    assert early.json()["error"]["code"] == "not_closed"
    services.conversation_close(conversation=conversation, staff=make_user(staff=True), resolution_code="resolved")
    assert client.post(f"{url}/csat/", {"score": 5}, "application/json").json()["csat_score"] == 5
    assert client.post(f"{url}/csat/", {"score": 1}, "application/json").json()["error"]["code"] == "already_rated"
    assert Conversation.objects.get(public_id=cid).csat_score == 5


def test_openapi_schema_lists_the_operations():
    response = Client().get("/api/v1/schema/", headers={"Accept": "application/json"})
    assert response.status_code == 200
    schema = response.json() if response["Content-Type"].startswith("application/json") else None
    if schema is None:
        import yaml

        schema = yaml.safe_load(response.content)
    assert set(schema["paths"]) == {
        "/api/v1/conversations/",
        "/api/v1/conversations/{public_id}/",
        "/api/v1/conversations/{public_id}/messages/",
        "/api/v1/conversations/{public_id}/verify/",
        "/api/v1/conversations/{public_id}/feedback/",
        "/api/v1/conversations/{public_id}/csat/",
        "/api/v1/conversations/{public_id}/attachments/",
        "/api/v1/knowledge/documents/",
        "/api/v1/knowledge/documents/{id}/",
        "/api/v1/knowledge/sync/",
        "/api/v1/knowledge/gaps/",
    }


def test_a_server_integration_without_cookies_leaves_no_session_per_call(turns):
    from django.contrib.sessions.models import Session

    started = _start(Client())
    sessions_after_start = Session.objects.count()
    headers = {"X-Chat-Access": started["access"]}
    cid = started["conversation"]
    for i in range(3):
        Client().post(
            f"/api/v1/conversations/{cid}/messages/",
            {"client_message_id": f"s{i}", "text": "hello"},
            content_type="application/json",
            headers=headers,
        )
        Client().get(f"/api/v1/conversations/{cid}/", headers=headers)
    assert Session.objects.count() == sessions_after_start == 1
    assert Message.objects.count() == 3
