"""One bot turn: answer one customer message, exactly once.

    turn_run(message_id=...)   # called by a turn worker (apps.agents.turn_worker)

Steps: lock the conversation and check the message still needs an answer ->
budgets -> typing event -> the customer's answer to a pending write action ->
context (trimmed history, summary, profile) -> input guardrails -> route ->
the specialist (model and tool calls, text deltas pushed as they stream) ->
output guardrails -> store the reply and mark the message answered -> the
trace. Whatever fails, the customer gets a plain message (never a traceback),
the error goes to Sentry, and when no model could answer a ticket is opened.

Database work runs on the calling (worker) thread; the model run is async
(`async_to_sync`, on the thread's long-lived loop: `apps.core.aio`), and tools
hop back to this thread through `sync_to_async(thread_sensitive=True)`, so the
ORM behaves as everywhere else.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction

from apps.agents import handoff
from apps.agents.accounting import count_tokens
from apps.agents.budgets import BUDGET_EXHAUSTED_REPLY, TurnBudget, budget_exceeded_before_turn, count_guest_spend
from apps.agents.confirmation import answer_and_request, request_after_decline
from apps.agents.context import context_load
from apps.agents.deps import SupportDeps
from apps.agents.guard import INPUT_BLOCKED_REPLY, guard_input, guard_output, learned_injection_only, mask_history
from apps.agents.local import reset_current_deps, set_current_deps
from apps.agents.memory import remember, summary_due
from apps.agents.pending import pending_action_resolve
from apps.agents.pending_requests import HELD_WRITES, WRITES_TOGETHER, awaiting_confirmation, together_question
from apps.agents.registry import specialist_for
from apps.agents.routes import HUMAN, OUT_OF_SCOPE, RouteDecision
from apps.agents.routing import route_message, task_refusal
from apps.agents.routing.order_refs import resolve_order_lookalikes
from apps.agents.routing.person import help_center_or_person
from apps.agents.runner import TurnBudgetExhausted, specialist_run, static_instructions
from apps.agents.specialists.help_center import cited_sources, record_unanswered
from apps.agents.turn_state import conversation_lock, customer_message, customer_messages, fresh_state, needs_answer
from apps.agents.understanding.language import read_message
from apps.agents.understanding.planner import split_pieces
from apps.agents.understanding.prefetch import prefetch_turn_embeddings
from apps.agents.understanding.turn_plan import PLAN_EARLIER, PLAN_MESSAGE, TurnPlan, earlier_steps, plan_for_turn
from apps.conversations import events
from apps.conversations.models import Message, MessageRole, MessageStatus
from apps.conversations.services import conversation_route_set, message_store
from apps.core.aio import use_thread_loop
from apps.observability.errors import capture_exception
from apps.observability.models import SpanKind, TraceStatus
from apps.observability.recorder import TraceRecorder

logger = logging.getLogger(__name__)

ALL_MODELS_FAILED_REPLY = (
    "Sorry, I am having trouble answering right now. I have opened a ticket so a person from our team can follow "
    "up with you here; you do not need to repeat anything."
)
OUT_OF_SCOPE_REPLY = (
    "I'm sorry, that is outside what I can help with here. I can help with your orders, deliveries, returns and "
    "refunds, billing, and questions about our shop's policies and products."
)
HUMAN_REPLY = "Of course. I am connecting you with a person from our team; they will reply here as soon as they can."
POLICY_HANDOFF_REPLY = "I am handing this conversation to a person from our team, who will reply here."
TURN_ABANDONED_REPLY = (
    "Sorry, something went wrong while I was answering this message. I have passed the conversation to a person "
    "from our team, who will reply here; you do not need to repeat anything."
)


@dataclass
class TurnOutcome:
    text: str
    agent: str
    status: str = TraceStatus.OK
    citations: list[dict[str, Any]] = field(default_factory=list)
    escalate_reason: str = ""


# -- the turn ---------------------------------------------------------------------
def turn_run(*, message_id: int) -> Message | None:
    """Answer the customer message `message_id` once. Returns the reply (None when nothing was to do).

    A conversation's messages are answered in the order they were written: under the lock, earlier messages
    still waiting for the bot are answered first (their own deliveries then find them answered), whichever
    worker took which delivery first."""
    message = customer_message(message_id)
    if message is None:
        return None
    use_thread_loop()
    with conversation_lock(message.conversation_id):
        state = fresh_state(message)
        if state is not None and state["earlier_waiting"]:
            earlier = customer_messages().filter(
                conversation_id=message.conversation_id, seq__lt=message.seq, status=MessageStatus.RECEIVED
            )
            for waiting in earlier.order_by("seq"):
                _answer_locked(waiting)
            state = None  # the earlier turns changed the conversation: read it again
        return _answer_locked(message, state)


def _turn_deps(message: Message) -> SupportDeps:
    """What a turn on `message` carries: the conversation's identity (never the model's), a fresh trace, budgets."""
    conversation = message.conversation
    return SupportDeps(
        conversation=conversation,
        customer=conversation.customer,
        verified_order=conversation.verified_order,
        trace=TraceRecorder(conversation=conversation, message=message, customer=conversation.customer),
        message=message,
        budget=TurnBudget.from_settings(),
    )


def turn_abandon(*, message_id: int) -> Message | None:
    """Answer a message whose turn took its workers down too often (apps.agents.turn_worker gives it up).

    Nothing of the turn runs again (no model, no tool, no guardrail: one of them is what keeps failing); the
    customer is told and a person takes the conversation, exactly once like any turn. None when it was
    answered after all (a slow first delivery finished) or has gone."""
    message = customer_message(message_id)
    if message is None:
        return None
    with conversation_lock(message.conversation_id):
        if not needs_answer(message):
            return None
        conversation = message.conversation
        deps = _turn_deps(message)
        recorder = deps.trace
        recorder.fail("turn abandoned: its workers stopped before answering, too many times")
        outcome = TurnOutcome(
            text=TURN_ABANDONED_REPLY,
            agent="assistant",
            status=TraceStatus.FAILED,
            escalate_reason="repeated_failure",
        )
        with transaction.atomic():
            reply = _deliver(deps, message, outcome)
            _persist_trace(recorder, conversation=conversation.pk, message=message.pk)
        return reply


def _answer_locked(message: Message, state: dict[str, Any] | None = None) -> Message | None:
    """One message's turn, with the conversation's lock held (`state`: its `_fresh_state`, when just read)."""
    conversation = message.conversation
    if not needs_answer(message, state):
        return None
    if conversation.bot_paused:
        Message.objects.filter(pk=message.pk, status=MessageStatus.RECEIVED).update(status=MessageStatus.SKIPPED)
        return None
    deps = _turn_deps(message)
    recorder = deps.trace
    try:
        outcome = _turn(deps, message)
    except Exception as exc:  # noqa: BLE001 -- reported to Sentry, customer gets a plain message
        capture_exception(exc, conversation=conversation.pk, message=message.pk)
        recorder.fail(f"{type(exc).__name__}: {exc}"[:2000])
        outcome = _all_failed(deps, reason=f"{type(exc).__name__}")
    # One write transaction: the route, the reply, the answered mark and the trace (the trace in a
    # savepoint: a lost trace must not undo the reply). A summary refresh runs a model, so when one
    # is due the trace waits for it, outside.
    due = summary_due(deps, outcome.text)
    with transaction.atomic():
        reply = _deliver(deps, message, outcome)
        if not due:
            _persist_trace(recorder, conversation=conversation.pk, message=message.pk)
    if due:
        remember(deps, reply)
        _persist_trace(recorder, conversation=conversation.pk, message=message.pk)
    return reply


def _persist_trace(recorder: TraceRecorder, **where: Any) -> None:
    try:
        with transaction.atomic():  # a savepoint inside the turn's transaction: a failed trace rolls back alone
            trace = recorder.persist()
    except Exception as exc:  # noqa: BLE001 -- the reply is out; a lost trace must not undo it
        capture_exception(exc, stage="trace", **where)
        return
    count_guest_spend(trace, **where)


def _turn(deps: SupportDeps, message: Message) -> TurnOutcome:
    conversation = deps.conversation
    spent = budget_exceeded_before_turn(conversation=conversation, customer=deps.customer)
    if spent:
        return _budget_handoff(deps, spent)
    events.push_now(conversation, "typing", reply_to=message.pk)
    prefetch_turn_embeddings(message.text)

    resolution = pending_action_resolve(deps=deps)
    if resolution is not None and resolution.reply:
        if not resolution.asks_more:
            return TurnOutcome(text=resolution.reply, agent=resolution.action.agent or "assistant")
        # "no. where are my trail runners instead?", "yes. and where are my trail runners at?": what the answer did is
        # said, then the request is answered.
        outcome = _answer(deps, message, after_answer=True)
        outcome.text = f"{resolution.reply}\n\n{outcome.text}"
        return outcome
    return _answer(deps, message)


def _answer(deps: SupportDeps, message: Message, *, after_answer: bool = False) -> TurnOutcome:
    """The turn from the context on: guardrails, route (or plan), the specialist, output guardrails."""
    conversation = deps.conversation
    context = context_load(conversation=conversation, message=message)
    deps.facts["history_tokens"] = context.tokens + count_tokens(message.text) + 4
    checked = guard_input(deps, message.text)
    if checked.escalate:
        deps.trace.status = TraceStatus.BLOCKED
        return TurnOutcome(
            text=POLICY_HANDOFF_REPLY,
            agent="guardrails",
            status=TraceStatus.BLOCKED,
            escalate_reason="policy_exception",
        )
    if checked.blocked:
        deps.trace.status = TraceStatus.BLOCKED
        refusal = task_refusal(checked.text) if learned_injection_only(checked) else None
        if refusal is not None:
            # A request for code or a poem reads like an instruction to the detector's learned score; the router's
            # task gate knows it for a task the shop does not do. Still blocked (no model sees it), answered as such.
            _set_route(deps, refusal)
            return TurnOutcome(text=OUT_OF_SCOPE_REPLY, agent="router", status=TraceStatus.BLOCKED)
        return TurnOutcome(text=INPUT_BLOCKED_REPLY, agent="guardrails", status=TraceStatus.BLOCKED)
    # "TW-1OOOO3" or "100003" in a sentence, when it is one of the customer's own orders, is read as that order.
    text = resolve_order_lookalikes(checked.text, conversation)
    if after_answer:
        text = request_after_decline(text) or answer_and_request(text, split_pieces(text))[1] or text
    reading = read_message(text)  # another language: the local models read its English gloss, the reply says so
    deps.facts["customer_text"] = reading.english
    context.history = mask_history(deps, context.history)

    decision = _route(deps, text, context.history)
    planned = plan_for_turn(reading.english, conversation=conversation) if decision.route != HUMAN else None
    if decision.route == HUMAN or (planned is not None and planned.asks_for_person):
        # A customer who asks for a person gets one, whatever else the message says (or a piece of it asks).
        escalated = handoff.person_handoff(deps, text)
        return TurnOutcome(
            text=HUMAN_REPLY,
            agent="router",
            status=TraceStatus.HANDOFF,
            escalate_reason="" if escalated else "customer_request",
        )
    if planned is not None:
        return _planned_turn(deps, planned, context)
    if decision.route == OUT_OF_SCOPE:
        return TurnOutcome(text=OUT_OF_SCOPE_REPLY, agent="router")

    spec = specialist_for(decision.route)
    deps.agent = spec.name
    deps.trace.agent = spec.name
    # Which prompt produced this reply: transcripts must say it (SpecialistSpec.version, e.g. "order.v1").
    deps.trace.add(SpanKind.ROUTING, "specialist", agent=spec.name, prompt_version=spec.version)
    try:
        reply = specialist_run(deps, spec, text, context)
    except TurnBudgetExhausted as exc:
        return _budget_handoff(deps, str(exc))
    if deps.handed_back:
        deps.route_write = ("", None)

    system_prompts = (static_instructions(spec),)
    reply, citations = cited_sources(reply, list(deps.citations))
    output = guard_output(deps, reply, system_prompts=system_prompts)
    outcome = TurnOutcome(f"{reading.note(spec.role)}\n\n{output.text}".strip(), spec.name, citations=citations)
    if output.escalate:
        outcome.escalate_reason = "policy_exception"
        outcome.status = TraceStatus.HANDOFF
    elif deps.handoff_reason:
        outcome.status = TraceStatus.HANDOFF
    return outcome


def _planned_turn(deps: SupportDeps, planned: TurnPlan, context: Any) -> TurnOutcome:
    """Plan-and-execute: each step's specialist answers its part of the message, then one reply is composed."""
    deps.trace.add(SpanKind.ROUTING, "plan", steps=planned.plan.describe(), writes=len(planned.plan.writes))
    parts, specs, held = [], [], []  # held: (part index, summary) of the writes waiting for the customer's yes
    deps.facts[WRITES_TOGETHER] = True  # what the steps hold waits side by side for one yes
    for index, step in enumerate(planned.run, start=1):
        before = len(deps.facts.get(HELD_WRITES, []))
        spec = specialist_for(step.route)
        specs.append(spec)
        deps.agent = spec.name
        deps.trace.agent = specs[0].name
        deps.trace.add(SpanKind.ROUTING, "specialist", agent=spec.name, prompt_version=spec.version, step=index)
        deps.facts["customer_text"] = step.text  # the local model reads this step's part of the message
        deps.facts[PLAN_EARLIER] = earlier_steps(planned.run, index - 1)  # "..., can you send it to": the step before
        deps.facts[PLAN_MESSAGE] = planned.plan.text
        try:
            parts.append(specialist_run(deps, spec, step.text, context))
        except TurnBudgetExhausted as exc:
            return _budget_handoff(deps, str(exc))
        finally:
            deps.facts["customer_text"], deps.facts[PLAN_EARLIER] = planned.plan.text, []
            deps.facts.pop(PLAN_MESSAGE, None)
        held.extend((len(parts) - 1, s) for s in deps.facts.get(HELD_WRITES, [])[before:])
        if deps.handoff_reason:
            break  # a person takes over: the rest of the plan is theirs
    if len(held) > 1:
        # Several changes wait for one yes: one question lists them all instead of a question per step.
        asked = {index for index, _ in held}
        parts = [p for i, p in enumerate(parts) if i not in asked] + [together_question([s for _, s in held])]
    text = "\n\n".join(p.strip() for p in parts if p and p.strip())
    prompts = tuple(static_instructions(s) for s in specs)
    text, citations = cited_sources(text, list(deps.citations))
    output = guard_output(deps, text, system_prompts=prompts)
    outcome = TurnOutcome(text=output.text, agent=specs[0].name, citations=citations)
    if output.escalate:
        outcome.escalate_reason, outcome.status = "policy_exception", TraceStatus.HANDOFF
    elif deps.handoff_reason:
        outcome.status = TraceStatus.HANDOFF
    return outcome


def _route(deps: SupportDeps, text: str, history: list[Any]) -> RouteDecision:
    token = set_current_deps(deps)  # an LLM router's model calls land in this trace
    try:
        with deps.trace.span(SpanKind.ROUTING, "route") as data:
            decision = help_center_or_person(route_message(text, conversation=deps.conversation, history=history), text)
            data.update(
                route=decision.route, confidence=decision.confidence, source=decision.source, reason=decision.reason
            )
    finally:
        reset_current_deps(token)
    _set_route(deps, decision)
    return decision


def _set_route(deps: SupportDeps, decision: RouteDecision) -> None:
    deps.trace.set_route(route=decision.route, confidence=decision.confidence, source=decision.source)
    deps.route = decision.route
    deps.route_write = (decision.route, decision.confidence)  # written with the reply (`_deliver`)


def _budget_handoff(deps: SupportDeps, detail: str) -> TurnOutcome:
    deps.trace.error = f"budget exhausted: {detail}"
    return TurnOutcome(
        text=BUDGET_EXHAUSTED_REPLY, agent="assistant", status=TraceStatus.HANDOFF, escalate_reason="budget_exhausted"
    )


def _all_failed(deps: SupportDeps, *, reason: str) -> TurnOutcome:
    deps.trace.status = TraceStatus.FAILED
    try:
        handoff.ticket_open(
            conversation=deps.conversation,
            subject="The assistant could not answer a customer",
            description=(
                f"No model could answer message #{getattr(deps.message, 'seq', '?')} ({reason}). "
                "Please reply to the customer in the conversation."
            ),
            route=deps.route,
        )
    except Exception as exc:  # noqa: BLE001 -- reported to Sentry, customer gets a plain message
        capture_exception(exc, conversation=deps.conversation.pk, stage="ticket")
    return TurnOutcome(text=ALL_MODELS_FAILED_REPLY, agent="assistant", status=TraceStatus.FAILED)


def _deliver(deps: SupportDeps, message: Message, outcome: TurnOutcome) -> Message:
    """Store the reply, mark the customer's message answered, and hand off if the turn asked to.

    Runs inside the turn's write transaction, with the route the router chose (sticky routing), whatever path the
    turn took (a budget hand-off or a failure after a search included): the gaps report gets the turn's unanswered
    questions here, once."""
    record_unanswered(deps)
    if deps.route_write is not None:
        route, confidence = deps.route_write
        conversation_route_set(conversation=deps.conversation, route=route, confidence=confidence)
    status = outcome.status
    if outcome.escalate_reason:
        try:
            handoff.escalate(conversation=deps.conversation, reason_code=outcome.escalate_reason, note=deps.trace.error)
        except Exception as exc:  # noqa: BLE001 -- reported to Sentry, customer gets a plain message
            capture_exception(exc, conversation=deps.conversation.pk, stage="escalate")
        status = TraceStatus.HANDOFF if status == TraceStatus.OK else status
        deps.trace.add(SpanKind.HANDOFF, "escalate", reason_code=outcome.escalate_reason)
    elif deps.handoff_reason:
        # A specialist's tool escalated (it called the support desk itself).
        deps.trace.add(SpanKind.HANDOFF, "escalate", reason_code=deps.handoff_reason, by="tool")
    if deps.trace.status == TraceStatus.OK:
        deps.trace.status = status
    with deps.trace.span(SpanKind.REPLY, outcome.agent or "assistant") as data:
        # In the turn's write transaction (both callers hold it): no savepoint of its own, as `message_create` makes.
        reply = message_store(
            conversation=deps.conversation,
            role=MessageRole.ASSISTANT,
            text=outcome.text,
            agent=outcome.agent[:20],
            citations=outcome.citations,
            in_reply_to=message,
            data={"route": deps.route, "status": str(deps.trace.status), **_reply_extras(deps, outcome.text)},
        )
        data.update(message=reply.pk, chars=len(outcome.text), citations=len(outcome.citations))
        if "stream" in deps.facts:
            data["stream"] = deps.facts["stream"]
    with connection.cursor() as cursor:  # `.update()` as written by the ORM, without its compile on every turn
        cursor.execute(_ANSWERED_SQL, [MessageStatus.ANSWERED, message.pk])
    return reply


_ANSWERED_SQL = f"UPDATE {Message._meta.db_table} SET status = %s WHERE id = %s"  # noqa: S608 - constant name


def _reply_extras(deps: SupportDeps, text: str) -> dict[str, Any]:
    """Quick replies and order cards for the chat (docs/chat-protocol.md, `message.data`)."""
    from apps.conversations.quick_replies import reply_data

    return reply_data(conversation=deps.conversation, text=text, awaiting_confirmation=awaiting_confirmation(deps))
