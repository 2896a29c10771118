"""What operators read is masked (names, street addresses, phones); what the customer reads is their own text."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client

from apps.conversations import services
from apps.conversations.models import Message
from apps.observability.models import Span, Trace
from tests.conversations.conftest import make_customer, make_user

pytestmark = pytest.mark.django_db

NAME = "Margaret Thompson"
STREET = "221B Baker Street"
PHONE = "020 7946 0958"
SAID = f"Hi, this is {NAME}. Please send it to {STREET}, London NW1 6XE, my number is {PHONE}."
PRIVATE = (NAME, STREET, PHONE, "Thompson", "Baker Street", "7946")


def _traced_conversation(customer=None):
    conversation = services.conversation_start(customer=customer)
    question = services.message_create(conversation=conversation, role="customer", text=SAID)
    services.message_create(
        conversation=conversation, role="assistant", text=f"Thanks {NAME}, noted.", in_reply_to=question
    )
    start = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
    trace = Trace.objects.create(conversation=conversation, message=question, route="order", started_at=start)
    span = Span.objects.create(
        trace=trace,
        position=0,
        kind="tool_call",
        name="order_details",
        started_at=start,
        ended_at=start,
        latency_ms=3.0,
        data={
            "arguments": {"number": "TW-100001"},
            "result": json.dumps({"status": "shipped", "ship_name": NAME, "ship_line1": STREET, "phone": PHONE}),
            "text": SAID,
        },
    )
    conversation.csat_comment = f"{NAME} here, call me on {PHONE}"
    conversation.save(update_fields=["csat_comment"])
    return conversation, span


def _operator() -> Client:
    client = Client()
    client.force_login(make_user(staff=True, perms=("conversations.review_conversation",)))
    return client


def _admin() -> Client:
    user = make_user(staff=True)
    user.is_superuser = True
    user.save()
    client = Client()
    client.force_login(user)
    return client


def _leaks(body: str) -> list[str]:
    return [value for value in PRIVATE if value in body]


def test_the_review_page_masks_name_address_and_phone_in_messages_traces_and_csat():
    # given a conversation whose customer gave a name, an address and a phone, traced
    conversation, _ = _traced_conversation()
    # when an operator opens the transcript
    page = _operator().get(f"/review/{conversation.public_id}/").content.decode()
    # then none of them is on the page, and the placeholders are
    assert _leaks(page) == []
    assert "Hi, this is [NAME]. Please send it to [ADDRESS], my number is [PHONE ending 58]." in page
    assert "Thanks [NAME], noted." in page
    # and the stored transcript still holds the original
    assert Message.objects.get(conversation=conversation, seq=1).text == SAID


def test_a_trace_steps_json_is_masked_field_by_field():
    # given a tool call whose result carries the delivery name and address
    conversation, span = _traced_conversation()
    # when an operator opens the step's JSON
    data = _operator().get(f"/review/{conversation.public_id}/steps/{span.pk}.json").json()
    # then names and addresses are masked, order numbers and statuses are not
    assert json.loads(data["result"]) == {
        "status": "shipped",
        "ship_name": "[NAME]",
        "ship_line1": "[ADDRESS]",
        "phone": "[PHONE ending 58]",
    }
    assert data["arguments"] == {"number": "TW-100001"}
    assert _leaks(json.dumps(data)) == []
    assert Span.objects.get(pk=span.pk).data["text"] == SAID


def test_the_json_export_is_masked():
    # given the traced conversation
    conversation, _ = _traced_conversation()
    # when an operator exports it
    body = _operator().get(f"/review/{conversation.public_id}/export.json").content.decode()
    exported = json.loads(body)
    # then messages, traces and the CSAT comment are masked throughout
    assert _leaks(body) == []
    assert exported["messages"][0]["text"].startswith("Hi, this is [NAME].")
    assert exported["csat"]["comment"] == "[NAME] here, call me on [PHONE ending 58]"


def test_the_admin_conversation_and_trace_pages_are_masked():
    # given the traced conversation
    conversation, span = _traced_conversation()
    client = _admin()
    # when an administrator opens the conversation, its trace and the step in the admin
    pages = [
        client.get(f"/admin/conversations/conversation/{conversation.pk}/change/"),
        client.get(f"/admin/observability/trace/{span.trace_id}/change/"),
        client.get(f"/admin/observability/span/{span.pk}/change/"),
    ]
    # then each page renders without the name, address or phone
    assert [page.status_code for page in pages] == [200, 200, 200]
    assert [_leaks(page.content.decode()) for page in pages] == [[], [], []]
    assert "[ADDRESS]" in pages[0].content.decode()


def test_the_customer_still_reads_their_own_words():
    # given a signed-in customer's conversation with their name, address and phone
    user = make_user()
    customer = make_customer(user=user)
    conversation, _ = _traced_conversation(customer=customer)
    client = Client()
    client.force_login(user)
    # when the customer reads the transcript
    transcript = client.get(f"/api/v1/conversations/{conversation.public_id}/").json()
    # then it shows what they typed, unmasked
    assert [m["text"] for m in transcript["messages"]] == [SAID, f"Thanks {NAME}, noted."]
