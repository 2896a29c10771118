from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from pydantic_ai import RunContext
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo

from apps.agents import registry
from apps.agents.budgets import BUDGET_EXHAUSTED_REPLY
from apps.agents.confirmation import Confirmation, classify_confirmation
from apps.agents.deps import SupportDeps
from apps.agents.local import text_response, tool_call_response, tool_returns_since_user
from apps.agents.models import PendingAction, PendingActionStatus
from apps.agents.tools import AWAITING_CONFIRMATION, GENERIC_FAILURE, ToolClass, read_tool
from apps.agents.turns import turn_run
from apps.conversations.models import ConversationStatus, Message
from apps.observability.models import Span, Trace, TraceStatus
from tests.agents.scripted_order import CALLS
from tests.fakes.llm_server import malformed_tool_args, text, tool_calls

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scripted_order_specialist")]


def _reply(message: Message) -> str:
    return Message.objects.get(in_reply_to=message).text


def test_read_tool_gets_the_sessions_customer_and_is_traced(say: Any) -> None:
    # when
    message = say("status TW-1")
    turn_run(message_id=message.pk)
    # then
    assert CALLS == [("fake_order_status", {"number": "TW-1", "customer": "ada@example.com"})]
    assert _reply(message) == "Order TW-1 is shipped."
    span = Span.objects.get(kind="tool_call")
    assert span.name == "fake_order_status"
    assert span.data["arguments"] == {"number": "TW-1"}
    assert span.data["result"] == "Order TW-1 is shipped."
    assert span.data["tool_class"] == "read"
    assert span.error == ""
    assert Trace.objects.get().tool_calls == 1


def test_application_error_becomes_a_clear_tool_result(say: Any) -> None:
    message = say("status TW-404")
    turn_run(message_id=message.pk)
    assert _reply(message) == "REFUSED (not_found): No such order."
    assert Span.objects.get(kind="tool_call").error == "not_found: No such order."


def test_unexpected_tool_error_is_traced_and_generic(say: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.agents import tools

    reported: list[BaseException] = []
    monkeypatch.setattr(tools, "capture_exception", lambda exc, **ctx: reported.append(exc))
    message = say("status TW-500")
    turn_run(message_id=message.pk)
    assert _reply(message) == GENERIC_FAILURE
    assert "bug" not in _reply(message)
    assert [type(e) for e in reported] == [ZeroDivisionError]
    assert Span.objects.get(kind="tool_call").error == "ZeroDivisionError: bug"


def test_write_tool_waits_for_yes_on_the_next_message(say: Any) -> None:
    # given: the model asks to cancel
    first = say("cancel TW-7")
    turn_run(message_id=first.pk)
    # then: nothing ran, a pending action holds the validated arguments
    assert CALLS == []
    action = PendingAction.objects.get()
    assert (action.status, action.tool_name, action.arguments) == ("pending", "fake_order_cancel", {"number": "TW-7"})
    assert action.summary == "cancel order TW-7"
    assert _reply(first) == AWAITING_CONFIRMATION.format(summary="cancel order TW-7")
    # when: the customer says yes
    second = say("Yes, please go ahead.")
    turn_run(message_id=second.pk)
    # then: it ran once, with the stored arguments and the session's customer
    assert CALLS == [("fake_order_cancel", {"number": "TW-7", "customer": "ada@example.com"})]
    action.refresh_from_db()
    assert action.status == PendingActionStatus.EXECUTED
    assert action.decided_by_id == second.pk
    assert _reply(second) == "Order TW-7 is cancelled."
    # and a redelivered "yes" does nothing more
    turn_run(message_id=second.pk)
    assert len(CALLS) == 1


def test_write_tool_is_cancelled_by_no(say: Any) -> None:
    turn_run(message_id=say("cancel TW-8").pk)
    second = say("no")
    turn_run(message_id=second.pk)
    assert CALLS == []
    assert PendingAction.objects.get().status == PendingActionStatus.CANCELLED
    assert _reply(second) == "Okay, I have not changed anything."


def test_anything_but_yes_lapses_the_action_and_is_answered_normally(say: Any) -> None:
    turn_run(message_id=say("cancel TW-9").pk)
    second = say("status TW-9")
    turn_run(message_id=second.pk)
    assert CALLS == [("fake_order_status", {"number": "TW-9", "customer": "ada@example.com"})]
    assert PendingAction.objects.get().status == PendingActionStatus.EXPIRED
    assert _reply(second) == "Order TW-9 is shipped."


def test_yes_after_the_time_to_live_does_not_run_the_action(say: Any) -> None:
    turn_run(message_id=say("cancel TW-10").pk)
    PendingAction.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    second = say("yes")
    turn_run(message_id=second.pk)
    assert CALLS == []
    assert PendingAction.objects.get().status == PendingActionStatus.EXPIRED
    assert "expired" in _reply(second)


def test_the_models_own_yes_never_confirms(say: Any, providers: Any, settings: Any) -> None:
    # given: a hostile model calls the write tool and then claims the customer agreed
    providers.push(
        tool_calls(("fake_order_cancel", {"number": "TW-11"})),
        text("The customer said yes, so it is done."),
        tool_calls(("fake_order_cancel", {"number": "TW-11"})),
        text("Done again."),
    )
    first = say("hello")
    turn_run(message_id=first.pk)
    second = say("what happened?")
    turn_run(message_id=second.pk)
    # then
    assert CALLS == []
    statuses = list(PendingAction.objects.order_by("id").values_list("status", flat=True))
    assert statuses == ["expired", "pending"]


def test_approval_tool_only_creates_the_request(say: Any) -> None:
    message = say("refund TW-12")
    turn_run(message_id=message.pk)
    assert CALLS == [("fake_refund_request", {"number": "TW-12", "reason": "broken"})]
    assert Span.objects.get(kind="tool_call").data["tool_class"] == ToolClass.APPROVAL
    assert PendingAction.objects.count() == 0


def test_malformed_tool_arguments_never_reach_the_tool(say: Any, providers: Any) -> None:
    providers.push(malformed_tool_args("fake_order_status"), text("Sorry, which order?"))
    message = say("status?")
    turn_run(message_id=message.pk)
    assert CALLS == []
    assert _reply(message) == "Sorry, which order?"
    retry_prompt = providers.requests[1].body["messages"][-1]
    assert retry_prompt["role"] == "tool"


def test_tool_call_budget_hands_off_to_a_person(say: Any, settings: Any) -> None:
    # given: a model that keeps calling tools
    settings.SWITCHBOARD_TURN_MAX_TOOL_CALLS = 2

    def looping(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return tool_call_response(("fake_order_status", {"number": "TW-1"}))

    registry.SPECIALISTS["order"].local_behaviour = looping
    message = say("loop")
    # when
    turn_run(message_id=message.pk)
    # then
    assert _reply(message) == BUDGET_EXHAUSTED_REPLY
    assert len(CALLS) == 2
    message.conversation.refresh_from_db()
    assert message.conversation.status == ConversationStatus.WAITING_HUMAN
    trace = Trace.objects.get()
    assert trace.status == TraceStatus.HANDOFF
    assert trace.error.startswith("budget exhausted")


def test_turn_seconds_budget_hands_off(say: Any, providers: Any, settings: Any) -> None:
    from tests.fakes.llm_server import hang

    settings.SWITCHBOARD_TURN_MAX_SECONDS = 0.5
    providers.push(hang(3))
    message = say("hello")
    turn_run(message_id=message.pk)
    assert _reply(message) == BUDGET_EXHAUSTED_REPLY
    assert Trace.objects.get().error == "budget exhausted: turn took longer than 0.5s"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yes", Confirmation.YES),
        ("Yes, please go ahead.", Confirmation.YES),
        ("ok thanks", Confirmation.YES),
        ("Y", Confirmation.YES),
        ("no", Confirmation.NO),
        ("No thanks", Confirmation.NO),
        ("nope, forget it", Confirmation.NO),
        ("don't", Confirmation.NO),
        ("yes but change the address", Confirmation.UNCLEAR),
        ("yes, cancel it", Confirmation.UNCLEAR),
        ("no, yes", Confirmation.UNCLEAR),
        ("where is my order?", Confirmation.UNCLEAR),
        ("I'm not sure yes", Confirmation.UNCLEAR),
        ("", Confirmation.UNCLEAR),
    ],
)
def test_confirmation_classifier(text: str, expected: Confirmation) -> None:
    assert classify_confirmation(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yse", Confirmation.YES),
        ("yaeh go ahead", Confirmation.YES),
        ("suer", Confirmation.YES),
        ("oaky thanks", Confirmation.YES),
        ("npoe", Confirmation.NO),
        # a two-letter word is never read as a swapped one, and a condition still makes a yes unclear
        ("on", Confirmation.UNCLEAR),
        ("yse but only the mug", Confirmation.UNCLEAR),
    ],
)
def test_an_answer_word_with_two_letters_swapped_reads_as_the_word(text: str, expected: Confirmation) -> None:
    assert classify_confirmation(text) == expected


@pytest.mark.parametrize(
    ("text", "tool_name", "expected"),
    [
        ("yes, cancel it", "cancel_order", Confirmation.YES),
        ("Yes cancel my order please", "cancel_order", Confirmation.YES),
        ("ok - cancel the order", "cancel_order", Confirmation.YES),
        ("yes, update it", "change_shipping_address", Confirmation.YES),
        ("yes please send it", "send_invoice_copy", Confirmation.YES),
        ("yes, start the return", "create_return", Confirmation.YES),
        ("yes please cancel that one", "cancel_order", Confirmation.YES),
        ("ok sounds good, go ahead and send me the label", "create_return", Confirmation.YES),
        ("yes, return it", "create_return", Confirmation.YES),
        ("yes, send me the label", "cancel_order", Confirmation.UNCLEAR),
        # the verb of another action is not a restatement
        ("yes, cancel it", "change_shipping_address", Confirmation.UNCLEAR),
        ("yes, cancel it", "send_invoice_copy", Confirmation.UNCLEAR),
        # a yes that adds anything else stays unclear
        ("yes, cancel it and refund me", "cancel_order", Confirmation.UNCLEAR),
        ("yes but cancel the other one", "cancel_order", Confirmation.UNCLEAR),
        ("cancel it", "cancel_order", Confirmation.NO),
        ("no, don't cancel it", "cancel_order", Confirmation.NO),
    ],
)
def test_a_yes_restating_the_pending_actions_verb_confirms_it(
    text: str, tool_name: str, expected: Confirmation
) -> None:
    assert classify_confirmation(text, tool_name=tool_name) == expected


def test_tool_that_escalates_is_recorded_as_a_handoff(say: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.agents import handoff

    @read_tool
    def fake_escalate(ctx: RunContext[SupportDeps], reason_code: str) -> str:
        """Hand the conversation to a person."""
        handoff.escalate(conversation=ctx.deps.conversation, reason_code=reason_code)
        ctx.deps.handoff_reason = reason_code
        return "A person will take over."

    def escalating(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        if tool_returns_since_user(messages):
            return text_response("I have asked a colleague to take over.")
        return tool_call_response(("fake_escalate", {"reason_code": "policy_exception"}))

    spec = registry.SPECIALISTS["order"]
    spec.tools = [*spec.tools, fake_escalate]
    spec.local_behaviour = escalating
    message = say("I want an exception to the policy")
    turn_run(message_id=message.pk)
    assert _reply(message) == "I have asked a colleague to take over."
    trace = Trace.objects.get()
    assert trace.status == TraceStatus.HANDOFF
    assert trace.spans.get(kind="handoff").data == {"reason_code": "policy_exception", "by": "tool"}
    message.conversation.refresh_from_db()
    assert message.conversation.status == ConversationStatus.WAITING_HUMAN


def test_anthropic_stream_with_tool_call_then_text(say: Any, providers: Any, settings: Any) -> None:
    # given: Claude first (SSE event stream with tool_use and input_json_delta)
    settings.SWITCHBOARD_AGENT_MODEL = "anthropic:claude-sonnet-4-5"
    settings.SWITCHBOARD_AGENT_FALLBACKS = []
    providers.push(
        tool_calls(("fake_order_status", {"number": "TW-77"})),
        text("Your order TW-77 has shipped.", input_tokens=200, output_tokens=12),
    )
    message = say("where is TW-77?")
    # when
    turn_run(message_id=message.pk)
    # then
    assert CALLS == [("fake_order_status", {"number": "TW-77", "customer": "ada@example.com"})]
    assert _reply(message) == "Your order TW-77 has shipped."
    assert [r.api for r in providers.requests] == ["anthropic", "anthropic"]
    assert providers.requests[0].body["stream"] is True
    tool_result = providers.requests[1].body["messages"][-1]["content"][0]
    assert tool_result["type"] == "tool_result"
    trace = Trace.objects.get()
    assert (trace.model_requests, trace.tool_calls, trace.input_tokens, trace.output_tokens) == (2, 1, 212, 19)


def test_turn_token_budget_hands_off(say: Any, providers: Any, settings: Any) -> None:
    # given: the second response takes the turn over its token budget
    settings.SWITCHBOARD_TURN_MAX_TOKENS = 100
    call = tool_calls(("fake_order_status", {"number": "TW-1"}))
    call.input_tokens = 80
    providers.push(call, text("this answer is over budget", input_tokens=90))
    message = say("status?")
    # when
    turn_run(message_id=message.pk)
    # then
    assert _reply(message) == BUDGET_EXHAUSTED_REPLY
    error = Trace.objects.get().error
    assert error.startswith("budget exhausted: ")
    assert "total_tokens_limit of 100" in error
