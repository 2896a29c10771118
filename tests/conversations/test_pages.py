"""Pages: chat and widget frame (CSP, escaping), operator review and export (the console: tests/support)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from apps.conversations import services
from apps.conversations.models import Conversation, ReplyFlag
from tests.conversations.conftest import make_customer, make_user

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _staff(*perms: str):
    user = make_user(staff=True, perms=perms)
    client = Client()
    client.force_login(user)
    return user, client


def test_chat_page_has_a_strict_csp_and_no_inline_script():
    response = Client().get("/chat/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "<script>" not in body  # only <script src=...>
    assert response.cookies["sessionid"].value  # a guest session exists before the socket opens


def test_embed_frame_may_be_framed_by_the_configured_shop_only(settings):
    settings.CHAT_WIDGET_FRAME_ANCESTORS = ["https://shop.example"]
    response = Client().get("/chat/embed/")
    assert response.status_code == 200
    assert "frame-ancestors 'self' https://shop.example;" in response["Content-Security-Policy"]
    assert "X-Frame-Options" not in response
    # the main chat page may not be framed by others
    assert Client().get("/chat/")["X-Frame-Options"] == "DENY"


def test_client_scripts_never_write_untrusted_text_as_html():
    root = Path(settings.BASE_DIR) / "static" / "conversations"
    for name in ("chat.js", "widget.js"):
        source = (root / name).read_text()
        assert "innerHTML" not in source, name
        assert "insertAdjacentHTML" not in source, name
        assert "document.write" not in source, name


def _reviewed_conversation():
    customer = make_customer(email="rev@example.com")
    conversation = services.conversation_start(customer=customer)
    question = services.message_create(conversation=conversation, role="customer", text="Where is TW-1?")
    answer = services.message_create(
        conversation=conversation, role="assistant", text=HOSTILE, agent="order", in_reply_to=question
    )
    services.feedback_record(conversation=conversation, message_id=answer.pk, rating="down")
    return conversation, answer


def test_review_requires_the_review_permission():
    _, staff_client = _staff("conversations.takeover_conversation")
    assert staff_client.get("/review/").status_code == 403


def test_review_list_filters_and_detail_escapes_model_text():
    _operator, client = _staff("conversations.review_conversation")
    conversation, _answer = _reviewed_conversation()
    other = services.conversation_start()
    services.message_create(conversation=other, role="customer", text="hello there")
    listing = client.get("/review/", {"feedback": "down"}).content.decode()
    assert str(conversation.public_id) in listing
    assert str(other.public_id) not in listing
    assert str(other.public_id) in client.get("/review/", {"q": "hello"}).content.decode()
    assert str(conversation.public_id) not in client.get("/review/", {"q": "hello"}).content.decode()
    assert str(conversation.public_id) in client.get("/review/", {"customer": "rev@"}).content.decode()
    assert str(conversation.public_id) not in client.get("/review/", {"escalated": "yes"}).content.decode()
    detail = client.get(f"/review/{conversation.public_id}/").content.decode()
    assert HOSTILE not in detail
    assert "&lt;img src=x onerror=alert(1)&gt;" in detail
    assert "👎 not helpful" in detail


def test_flag_a_reply_and_export_json():
    operator, client = _staff("conversations.review_conversation")
    conversation, answer = _reviewed_conversation()
    # an empty note is refused and stores nothing
    client.post(f"/review/{conversation.public_id}/flag/{answer.pk}/", {"note": " "})
    assert ReplyFlag.objects.count() == 0
    client.post(f"/review/{conversation.public_id}/flag/{answer.pk}/", {"note": "Wrong order status"})
    flag = ReplyFlag.objects.get()
    assert (flag.message, flag.flagged_by, flag.note) == (answer, operator, "Wrong order status")
    assert str(conversation.public_id) in client.get("/review/", {"feedback": "flagged"}).content.decode()
    export = client.get(f"/review/{conversation.public_id}/export.json")
    data = json.loads(export.content)
    assert export["Content-Type"] == "application/json"
    assert data["conversation"] == str(conversation.public_id)
    assert data["customer"] == "rev@example.com"
    assert [(m["seq"], m["role"], m["feedback"]) for m in data["messages"]] == [
        (1, "customer", None),
        (2, "assistant", "down"),
    ]
    assert data["messages"][1]["text"] == HOSTILE  # JSON carries the raw text; the browser never renders it
    assert data["messages"][1]["flags"][0]["note"] == "Wrong order status"


def test_admin_shows_conversations_read_only():
    admin_user = make_user(staff=True)
    admin_user.is_superuser = True
    admin_user.save()
    client = Client()
    client.force_login(admin_user)
    conversation = services.conversation_start()
    services.message_create(conversation=conversation, role="customer", text=HOSTILE)
    page = client.get(f"/admin/conversations/conversation/{conversation.pk}/change/")
    body = page.content.decode()
    assert page.status_code == 200
    assert HOSTILE not in body
    assert f"/review/{conversation.public_id}/" in body
    assert (
        client.post(f"/admin/conversations/conversation/{conversation.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_review_shows_each_turns_trace_inline():
    from decimal import Decimal

    from django.apps import apps
    from django.utils import timezone

    try:
        trace_model, span_model = apps.get_model("observability", "Trace"), apps.get_model("observability", "Span")
    except LookupError:
        pytest.skip("needs the runtime's observability app")
    _, client = _staff("conversations.review_conversation")
    conversation = services.conversation_start()
    question = services.message_create(conversation=conversation, role="customer", text="Where is TW-9?")
    services.message_create(conversation=conversation, role="assistant", text="It shipped.", in_reply_to=question)
    now = timezone.now()
    trace = trace_model.objects.create(
        conversation=conversation,
        message=question,
        route="order",
        route_confidence=0.93,
        cost=Decimal("0.004200"),
        started_at=now,
    )
    span_model.objects.create(
        trace=trace,
        position=0,
        kind="tool_call",
        name="order_status",
        started_at=now,
        ended_at=now,
        latency_ms=12.5,
        data={"arguments": {"number": "<TW-9>"}},
    )
    detail = client.get(f"/review/{conversation.public_id}/").content.decode()
    assert "route confidence" in detail
    assert "0.93" in detail
    assert "order_status" in detail
    assert "&lt;TW-9&gt;" in detail
    listing = client.get("/review/", {"min_cost": "0.004"}).content.decode()
    assert str(conversation.public_id) in listing
    assert "0.0042" in listing
    assert str(conversation.public_id) not in client.get("/review/", {"min_cost": "0.01"}).content.decode()
    exported = json.loads(client.get(f"/review/{conversation.public_id}/export.json").content)
    assert exported["traces"][0]["fields"]["route"] == "order"
    assert exported["traces"][0]["spans"][0]["name"] == "order_status"


def test_the_review_has_a_project_wide_url_name_for_other_apps():
    from django.urls import reverse

    conversation = services.conversation_start()
    assert reverse("review_transcript", args=[conversation.public_id]) == f"/review/{conversation.public_id}/"


def test_a_turns_trace_reads_as_a_timeline_with_ms_tokens_and_json_behind_a_toggle():
    # given a traced turn: a guardrail, a model call and a tool call, each with its timing
    import datetime as dt
    from decimal import Decimal

    from apps.observability.models import Span, Trace

    _, client = _staff("conversations.review_conversation")
    conversation = services.conversation_start()
    question = services.message_create(conversation=conversation, role="customer", text="Where is TW-1?")
    services.message_create(conversation=conversation, role="assistant", text="Shipped.", in_reply_to=question)
    start = dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=dt.UTC)
    trace = Trace.objects.create(
        conversation=conversation,
        message=question,
        route="order",
        route_confidence=0.9,
        input_tokens=812,
        output_tokens=64,
        cost=Decimal("0.001234"),
        latency_ms=1520.0,
        started_at=start,
        model_requests=1,
        tool_calls=1,
    )
    steps = [
        ("guardrail", "input", 0, 4.25, {"action": "allow", "blocked": False, "verdicts": []}),
        ("model_call", "openai:gpt", 10, 1200.5, {"input_tokens": 812, "output_tokens": 64, "cost": "0.001234"}),
        ("tool_call", "order_status", 1215, 33.0, {"arguments": {"number": "TW-1"}, "result": "x" * 3000}),
    ]
    for i, (kind, name, at, ms, data) in enumerate(steps):
        began = start + dt.timedelta(milliseconds=at)
        Span.objects.create(
            trace=trace,
            position=i,
            kind=kind,
            name=name,
            started_at=began,
            ended_at=began + dt.timedelta(milliseconds=ms),
            latency_ms=ms,
            data=data,
        )
    # when an operator opens the transcript
    page = client.get(f"/review/{conversation.public_id}/").content.decode()
    # then each step is a timeline row with its offset and duration in ms, tokens in the model row
    assert "<i>+1215.0 ms</i><em>Tool call</em><b>order_status</b><i>33.0 ms</i>" in page
    assert "<i>+10.0 ms</i><em>Model call</em><b>openai:gpt</b><i>1200.5 ms</i>" in page
    assert "812 in / 64 out tokens · cost 0.001234" in page
    assert "1520.0</span> ms" in page
    # and the raw data is not on the page: its closed toggle fetches it, for this conversation's steps only
    tool = Span.objects.get(name="order_status")
    url = f"/review/{conversation.public_id}/steps/{tool.pk}.json"
    assert f'data-steps="/review/{conversation.public_id}/steps/"' in page
    assert f'<details data-step="{tool.pk}"><summary>JSON</summary><pre></pre></details>' in page
    assert "x" * 200 not in page
    assert client.get(url).json() == {"arguments": {"number": "TW-1"}, "result": "x" * 3000}
    other = services.conversation_start()
    assert client.get(f"/review/{other.public_id}/steps/{tool.pk}.json").status_code == 404
