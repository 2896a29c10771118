from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from apps.agents.budgets import BUDGET_EXHAUSTED_REPLY
from apps.agents.local import DEFAULT_REPLY
from apps.agents.turns import ALL_MODELS_FAILED_REPLY, HUMAN_REPLY, OUT_OF_SCOPE_REPLY, turn_run
from apps.conversations.models import ConversationStatus, Message, MessageRole, MessageStatus
from apps.observability.models import Span, Trace, TraceStatus
from apps.support.models import Escalation
from tests.fakes.llm_server import cut_stream, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_specialists")]


def test_turn_answers_once_with_local_model_and_streams(say: Any, pushed: list, route_to: Any) -> None:
    # given
    route_to("order")
    message = say("Where is my parcel?")
    # when
    first = turn_run(message_id=message.pk)
    second = turn_run(message_id=message.pk)
    # then
    assert second is None
    replies = Message.objects.filter(in_reply_to=message, role=MessageRole.ASSISTANT)
    assert [r.text for r in replies] == [DEFAULT_REPLY]
    assert first is not None
    assert first.agent == "order"
    message.refresh_from_db()
    assert message.status == MessageStatus.ANSWERED
    assert pushed[0] == ("typing", {"reply_to": message.pk})
    deltas = [payload["text"] for kind, payload in pushed if kind == "delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == DEFAULT_REPLY
    assert Trace.objects.count() == 1


def test_trace_records_every_step_with_totals(say: Any, pushed: list, route_to: Any, providers: Any) -> None:
    # given
    route_to("billing", 0.82)
    providers.push(text("Your invoice is on its way.", input_tokens=120, output_tokens=9))
    message = say("Send me my invoice")
    # when
    turn_run(message_id=message.pk)
    # then
    trace = Trace.objects.get()
    assert (trace.route, trace.route_confidence, trace.route_source, trace.agent) == (
        "billing",
        0.82,
        "local",
        "billing",
    )
    assert trace.status == TraceStatus.OK
    assert (trace.model_requests, trace.input_tokens, trace.output_tokens, trace.tool_calls) == (1, 120, 9, 0)
    expected_cost = (Decimal("0.40") * 120 + Decimal("1.60") * 9) / Decimal(1_000_000)
    assert trace.cost == expected_cost.quantize(Decimal("0.000001"))
    kinds = list(trace.spans.values_list("kind", "name"))
    assert kinds == [
        ("guardrail", "input"),
        ("routing", "route"),
        ("routing", "specialist"),
        ("model_call", "openai:gpt-4.1-mini"),
        ("guardrail", "output"),
        ("reply", "billing"),
    ]
    assert trace.spans.get(name="specialist").data == {"agent": "billing", "prompt_version": "default"}
    model_span = trace.spans.get(kind="model_call")
    assert model_span.data["model"] == "openai:gpt-4.1-mini"
    assert model_span.data["retries"] == 0
    assert model_span.data["fallback_used"] is False
    assert model_span.data["streamed"] is True
    reply = Message.objects.get(in_reply_to=message)
    assert reply.text == "Your invoice is on its way."
    assert trace.message_id == message.pk


def test_every_model_failing_gives_plain_message_and_ticket(
    say: Any, pushed: list, route_to: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the local behaviour itself is broken, so no model can answer
    from apps.agents import registry

    def broken(messages: Any, info: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setitem(
        registry.SPECIALISTS, "order", registry.SpecialistSpec(name="order", instructions="x", local_behaviour=broken)
    )
    route_to("order")
    message = say("Where is my order?")
    # when
    reply = turn_run(message_id=message.pk)
    # then
    assert reply is not None
    assert reply.text == ALL_MODELS_FAILED_REPLY
    assert "Traceback" not in reply.text
    assert "boom" not in reply.text
    # a real ticket, for staff to follow up in this conversation
    from apps.support.models import Ticket

    ticket = Ticket.objects.get()
    assert ticket.conversation_id == message.conversation_id
    assert ticket.priority == "high"
    trace = Trace.objects.get()
    assert trace.status == TraceStatus.FAILED
    assert "boom" in trace.error


def test_stream_cut_midway_is_answered_by_local(
    say: Any, pushed: list, route_to: Any, providers: Any, sleeps: list
) -> None:
    # given: the provider drops the connection after streaming part of its answer
    route_to("faq")
    providers.push(cut_stream("Our return window is thirty days from delivery.", after=3))
    message = say("How long do I have to return?")
    # when
    reply = turn_run(message_id=message.pk)
    # then
    assert reply is not None
    assert reply.text == DEFAULT_REPLY
    trace = Trace.objects.get()
    errors = list(trace.spans.filter(kind="model_call").exclude(error="").values_list("name", flat=True))
    assert errors[0] == "openai:gpt-4.1-mini"
    assert trace.spans.filter(kind="model_call", name="local", error="").count() == 1
    assert trace.status == TraceStatus.OK


def test_human_route_escalates(say: Any, pushed: list, route_to: Any) -> None:
    # given
    route_to("human")
    message = say("I want to talk to a person")
    # when
    reply = turn_run(message_id=message.pk)
    # then
    assert reply is not None
    assert reply.text == HUMAN_REPLY
    message.conversation.refresh_from_db()
    assert message.conversation.status == ConversationStatus.WAITING_HUMAN
    trace = Trace.objects.get()
    assert trace.status == TraceStatus.HANDOFF
    assert list(trace.spans.filter(kind="handoff").values_list("data", flat=True)) == [
        {"reason_code": "customer_request", "by": "tool"}
    ]
    # the hand-over is the specialists' own tool, run by the runtime: the trace shows the same call
    (tool_span,) = trace.spans.filter(kind="tool_call")
    assert tool_span.name == "escalate_to_human"
    assert tool_span.data["arguments"] == {"reason_code": "customer_request", "note": "I want to talk to a person"}
    assert tool_span.data["by"] == "router"
    assert Escalation.objects.filter(conversation=message.conversation, reason_code="customer_request").count() == 1


def _answered_without_hand_over(message: Message, reply: Message | None) -> Trace:
    """The turn's reply is not the hand-over's, the conversation waits for no one, nothing escalated."""
    assert reply is not None
    assert reply.text != HUMAN_REPLY
    message.conversation.refresh_from_db()
    assert message.conversation.status != ConversationStatus.WAITING_HUMAN
    assert Escalation.objects.filter(conversation=message.conversation).count() == 0
    trace = Trace.objects.get()
    assert trace.status != TraceStatus.HANDOFF
    return trace


def test_a_question_about_how_to_reach_the_shop_routed_human_is_answered_not_handed_over(
    say: Any, pushed: list, route_to: Any
) -> None:
    # given a question about the shop's phone line that the router sends to `human`
    route_to("human")
    message = say("is there a phone number i can call?")
    # when
    reply = turn_run(message_id=message.pk)
    # then the help center's specialist answers it: no hand-over, no escalation
    trace = _answered_without_hand_over(message, reply)
    assert message.conversation.current_route == "faq"
    assert trace.route == "faq"
    assert not trace.spans.filter(kind="tool_call", name="escalate_to_human").exists()


def test_a_question_about_support_hours_that_mentions_needing_someone_later_is_answered_not_handed_over(
    say: Any, pushed: list, route_to: Any
) -> None:
    # given a question about when people work, whose second clause reads alone like a request for a person
    route_to("faq")
    message = say("are you guys open on sundays? i might need to talk to someone about an order then")
    # when
    reply = turn_run(message_id=message.pk)
    # then the specialist answers it: no hand-over, no escalation, the turn did not fail
    trace = _answered_without_hand_over(message, reply)
    assert trace.status == TraceStatus.OK


def test_out_of_scope_is_declined_without_a_model_call(say: Any, pushed: list, route_to: Any, providers: Any) -> None:
    # given
    route_to("out_of_scope")
    message = say("Write me a poem about the sea")
    # when
    reply = turn_run(message_id=message.pk)
    # then
    assert reply is not None
    assert reply.text == OUT_OF_SCOPE_REPLY
    assert providers.requests == []
    assert Trace.objects.get().spans.filter(kind="model_call").count() == 0


def test_paused_conversation_is_not_answered(say: Any, pushed: list, route_to: Any, conversation: Any) -> None:
    # given
    route_to("order")
    message = say("hello?")
    conversation.status = ConversationStatus.HUMAN
    conversation.save()
    # when
    reply = turn_run(message_id=message.pk)
    # then
    assert reply is None
    message.refresh_from_db()
    assert message.status == MessageStatus.SKIPPED
    assert not Message.objects.filter(in_reply_to=message).exists()
    assert Trace.objects.count() == 0


def test_conversation_budget_spent_hands_off_before_any_model_call(
    say: Any, pushed: list, route_to: Any, providers: Any, settings: Any
) -> None:
    # given
    settings.SWITCHBOARD_CONVERSATION_MAX_TURNS = 1
    route_to("order")
    first = say("Where is my order?")
    turn_run(message_id=first.pk)
    requests_before = len(providers.requests)
    second = say("And now?")
    # when
    reply = turn_run(message_id=second.pk)
    # then
    assert reply is not None
    assert reply.text == BUDGET_EXHAUSTED_REPLY
    assert len(providers.requests) == requests_before
    second.conversation.refresh_from_db()
    assert second.conversation.status == ConversationStatus.WAITING_HUMAN
    trace = Trace.objects.get(message=second)
    assert trace.status == TraceStatus.HANDOFF
    assert trace.error.startswith("budget exhausted: conversation turns 1 >= 1")
    assert Span.objects.filter(trace=trace, kind="handoff", data__reason_code="budget_exhausted").count() == 1


def test_deltas_and_typing_reach_the_conversations_channel_group(
    say: Any, route_to: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given: a socket listening on the conversation's group (real channel layer on the test Redis)
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from apps.conversations.events import conversation_group

    route_to("order")
    message = say("Where is my parcel?")
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(conversation_group(message.conversation.public_id), channel)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        turn_run(message_id=message.pk)
    # then
    received = []

    async def drain() -> None:
        import asyncio

        while True:
            try:
                received.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
            except TimeoutError:
                return

    async_to_sync(drain)()
    kinds = [event["event"] for event in received]
    assert kinds[0] == "typing"
    assert kinds[-1] == "message"
    deltas = [event["text"] for event in received if event["event"] == "delta"]
    assert "".join(deltas) == DEFAULT_REPLY
    assert all(event["reply_to"] == message.pk for event in received if event["event"] == "delta")
    assert received[-1]["message"]["in_reply_to"] == message.pk


@pytest.mark.django_db(transaction=True)
def test_the_contract_entry_point_queues_the_turn_and_a_worker_answers_it(
    conversation: Any, pushed: list, route_to: Any
) -> None:
    # given
    from apps.agents.turn_queue import turn_queue_length
    from apps.conversations.services import message_accept_customer
    from tests.workers import turn_worker_burst

    route_to("order")
    # when: the chat stores a message (its turn is queued after commit), then a turn worker serves the stream
    message, created = message_accept_customer(conversation=conversation, text="Where is it?", client_message_id="c1")
    queued = turn_queue_length()
    done = turn_worker_burst(threads=1)
    # then
    assert created is True
    assert (queued, done, turn_queue_length()) == (1, 1, 0)
    message.refresh_from_db()
    assert message.status == MessageStatus.ANSWERED
    assert Message.objects.get(in_reply_to=message).text == DEFAULT_REPLY


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_answer_once(route_to: Any, pushed: list) -> None:
    # given: the same task delivered twice, running concurrently in two workers
    import threading

    from django.db import connection

    from apps.commerce.models import Customer
    from apps.conversations.models import Conversation
    from apps.conversations.services import message_create

    route_to("order")
    customer = Customer.objects.create(email="twice@example.com", first_name="T", last_name="Wice")
    conversation = Conversation.objects.create(customer=customer)
    message = message_create(
        conversation=conversation, role=MessageRole.CUSTOMER, text="Where is it?", status=MessageStatus.RECEIVED
    )
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def deliver() -> None:
        try:
            barrier.wait()
            results.append(turn_run(message_id=message.pk))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then
    assert len(results) == 2
    assert sum(1 for r in results if r is not None) == 1
    assert Message.objects.filter(in_reply_to=message, role=MessageRole.ASSISTANT).count() == 1
    assert Trace.objects.filter(message=message).count() == 1


def test_a_withheld_reply_never_streams_to_the_customer(say: Any, pushed: list, route_to: Any, providers: Any) -> None:
    # given: a (hijacked) model that promises a refund the shop never made
    route_to("billing")
    providers.push(text("Thanks for waiting. I have refunded your order in full. Anything else?"))
    message = say("Where is my money?")
    # when
    reply = turn_run(message_id=message.pk)
    # then: the promise was neither streamed nor stored
    streamed = "".join(payload["text"] for kind, payload in pushed if kind == "delta")
    assert "refunded" not in streamed
    assert streamed.strip() in ("", "Thanks for waiting.")
    assert reply is not None
    assert "I have refunded" not in reply.text
    output_span = Span.objects.get(kind="guardrail", name="output")
    assert output_span.data["blocked"] is True


def test_a_trace_that_fails_to_store_never_undoes_the_reply_or_the_route(
    say: Any, pushed: list, route_to: Any, conversation: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a trace table that refuses the write (inside the turn's one write transaction)
    from apps.observability.recorder import TraceRecorder

    def broken_persist(self: Any) -> None:
        Trace.objects.create(conversation=conversation, message=None, customer=None, route="x" * 500)

    monkeypatch.setattr(TraceRecorder, "persist", broken_persist)
    route_to("order")
    message = say("Where is my parcel?")
    # when
    reply = turn_run(message_id=message.pk)
    # then the reply, the answered mark and the route are stored; no trace is
    assert reply is not None
    assert [r.text for r in Message.objects.filter(in_reply_to=message)] == [DEFAULT_REPLY]
    message.refresh_from_db()
    conversation.refresh_from_db()
    assert message.status == MessageStatus.ANSWERED
    assert conversation.current_route == "order"
    assert Trace.objects.count() == 0


def test_a_message_in_another_language_reaches_the_local_model_as_its_english_gloss(
    say: Any, pushed: list, route_to: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a Spanish message, and a local specialist that records what it reads
    from apps.agents import local, registry
    from apps.agents.specialists.base import BASE_INSTRUCTIONS

    read: list[str] = []

    def reads(messages: Any, info: Any) -> Any:
        deps = local.current_deps()
        read.append(deps.text if deps is not None else "")
        return local.text_response("Your order is on its way.")

    spec = registry.SpecialistSpec(
        name="order", instructions=BASE_INSTRUCTIONS, version="default", local_behaviour=reads
    )
    monkeypatch.setitem(registry.SPECIALISTS, "order", spec)
    route_to("order")
    message = say("hola, ¿dónde está mi pedido?")

    # when the turn runs
    reply = turn_run(message_id=message.pk)

    # then the local model read the English gloss, and the reply says in Spanish that it is in English
    assert read == ["hello, where is my order?"]
    assert reply is not None
    assert reply.text == "(Te respondo en inglés.)\n\nYour order is on its way."
    message.refresh_from_db()
    assert message.text == "hola, ¿dónde está mi pedido?"


def _blocked_by(rules: list[str]) -> Any:
    """`guard_input` as the injection detector answers when its learned score blocks (with `rules` matched)."""
    from apps.agents.guard import GuardOutcome

    def guard_input(deps: Any, text: str) -> GuardOutcome:
        injection = {"name": "input.injection", "passed": False, "action": "block", "detail": {"rules": rules}}
        allowed = {"name": "input.size", "passed": True, "action": "allow", "detail": {}}
        return GuardOutcome(text=text, blocked=True, verdicts=[allowed, injection])

    return guard_input


@pytest.mark.slow
def test_a_request_for_code_the_detectors_learned_score_blocks_is_answered_as_out_of_scope(
    say: Any, pushed: list, providers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a request for code that only the detector's learned score reads as an injection
    from apps.agents import turns

    monkeypatch.setattr(turns, "guard_input", _blocked_by([]))
    message = say("write a python script that scrapes prices off a website")
    # when
    reply = turn_run(message_id=message.pk)
    # then it is declined as out of scope, still blocked, and no model saw it
    assert reply is not None
    assert reply.text == OUT_OF_SCOPE_REPLY
    assert providers.requests == []
    trace = Trace.objects.get()
    assert (trace.route, trace.status) == ("out_of_scope", TraceStatus.BLOCKED)


@pytest.mark.slow
def test_a_request_for_code_that_also_matches_an_injection_rule_stays_blocked(
    say: Any, pushed: list, providers: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the same request, and an injection rule matched too
    from apps.agents import turns
    from apps.agents.guard import INPUT_BLOCKED_REPLY

    monkeypatch.setattr(turns, "guard_input", _blocked_by(["ignore_instructions"]))
    message = say("write a python script that scrapes prices off a website")
    # when
    reply = turn_run(message_id=message.pk)
    # then the guardrails' refusal stands and nothing was routed
    assert reply is not None
    assert reply.text == INPUT_BLOCKED_REPLY
    trace = Trace.objects.get()
    assert (trace.route, trace.status) == ("", TraceStatus.BLOCKED)
