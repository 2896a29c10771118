from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.admin.sites import site
from django.test import RequestFactory

from apps.conversations.models import Conversation, MessageRole
from apps.conversations.services import message_create
from apps.observability.models import Span, SpanKind, Trace, TraceStatus
from apps.observability.recorder import TraceRecorder
from tests.commerce.factories import make_customer

pytestmark = pytest.mark.django_db


def test_recorder_persists_one_trace_with_ordered_spans_and_totals(django_assert_num_queries: Any) -> None:
    # given
    recorder = TraceRecorder()
    recorder.set_route(route="order", confidence=0.91, source="local")
    recorder.add(SpanKind.GUARDRAIL, "input", action="allow")
    recorder.add(
        SpanKind.MODEL_CALL, "openai:gpt-4.1-mini", latency_ms=120, input_tokens=100, output_tokens=20, cost="0.0001"
    )
    recorder.add(
        SpanKind.MODEL_CALL, "anthropic:x", latency_ms=5, error="ModelServerError: 500", input_tokens=0, output_tokens=0
    )
    with recorder.span(SpanKind.TOOL_CALL, "order_list", arguments={"limit": 3}) as data:
        data["result"] = "3 orders"
    recorder.add(SpanKind.TOOL_CALL, "order_cancel", executed=False)
    # when: one statement inserts the trace and its spans (no savepoint of its own)
    with django_assert_num_queries(1):
        trace = recorder.persist()
    # then
    trace = Trace.objects.get(pk=trace.pk)
    assert (trace.route, trace.route_confidence, trace.route_source) == ("order", 0.91, "local")
    assert (trace.model_requests, trace.tool_calls, trace.input_tokens, trace.output_tokens) == (1, 1, 100, 20)
    assert trace.cost == Decimal("0.000100")
    assert trace.status == TraceStatus.OK
    assert list(trace.spans.values_list("position", "kind", "name")) == [
        (0, "guardrail", "input"),
        (1, "model_call", "openai:gpt-4.1-mini"),
        (2, "model_call", "anthropic:x"),
        (3, "tool_call", "order_list"),
        (4, "tool_call", "order_cancel"),
    ]
    assert Span.objects.get(name="order_list").data == {"arguments": {"limit": 3}, "result": "3 orders"}
    assert Span.objects.get(name="anthropic:x").error == "ModelServerError: 500"


def test_span_records_the_error_and_reraises() -> None:
    recorder = TraceRecorder()
    with pytest.raises(ValueError, match="nope"), recorder.span(SpanKind.ROUTING, "route"):
        raise ValueError("nope")
    assert recorder.spans[0].error == "ValueError: nope"


def test_traces_are_read_only_in_the_admin(admin_user: Any) -> None:
    request = RequestFactory().get("/admin/observability/trace/")
    request.user = admin_user
    trace_admin = site._registry[Trace]
    assert trace_admin.has_add_permission(request) is False
    assert trace_admin.has_change_permission(request) is False
    assert trace_admin.has_delete_permission(request) is False
    assert trace_admin.has_view_permission(request) is True


def test_spans_keep_their_times_latency_and_data_exactly() -> None:
    # given: data with quotes, backslashes, braces, commas, newlines, non-ASCII and nesting (what array text escapes)
    recorder = TraceRecorder()
    tricky = {"text": 'say "hi", {ok}\\n\nnaïve ✓ \\"', "nested": [1, 2.5, None, True, {"a": "b,c"}], "empty": ""}
    recorder.add(SpanKind.REPLY, 'assistant "quoted", {braced}', latency_ms=12.345678, error='a "b"\\c', **tricky)
    recorder.add(SpanKind.ROUTING, "route")
    # when
    trace = recorder.persist()
    # then
    first, second = trace.spans.order_by("position")
    recorded = recorder.spans[0]
    assert (first.kind, first.name, first.error) == ("reply", 'assistant "quoted", {braced}', 'a "b"\\c')
    assert first.data == tricky
    assert first.latency_ms == recorded.latency_ms == 12.346
    assert first.started_at == recorded.started_at
    assert first.ended_at == recorded.started_at + timedelta(milliseconds=12.346)
    assert (second.position, second.kind, second.data, second.error) == (1, "routing", {}, "")


def test_the_stored_trace_row_is_the_one_persist_returns() -> None:
    # given a customer's turn with a route, totals and an error, and no spans
    customer = make_customer()
    conversation = Conversation.objects.create(customer=customer)
    message = message_create(conversation=conversation, role=MessageRole.CUSTOMER, text="Where is my parcel?")
    recorder = TraceRecorder(conversation=conversation, message=message, customer=customer)
    recorder.set_route(route="order", confidence=0.5, source="sticky")
    recorder.agent = "order"
    recorder.fail("ModelServerError: 500")
    recorder.add(SpanKind.MODEL_CALL, "openai:x", latency_ms=3, input_tokens=7, output_tokens=2, cost="0.0000015")
    recorder.spans.clear()
    # when
    trace = recorder.persist()
    # then: every column as read back, and no span
    stored = Trace.objects.get(pk=trace.pk)
    for field in Trace._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(trace, field.attname), field.name
    assert (stored.conversation_id, stored.message_id, stored.customer_id) == (conversation.pk, message.pk, customer.pk)
    assert (stored.status, stored.error, stored.cost) == (
        TraceStatus.FAILED,
        "ModelServerError: 500",
        Decimal("0.000002"),
    )
    assert trace.spans.count() == 0
