"""Write actions held for the customer's confirmation.

A `write` tool called by the model stores a `PendingAction` (the validated
arguments and a plain summary). At the start of the customer's NEXT turn,
`pending_action_resolve` reads their text with the one deterministic yes/no
classifier (`apps.agents.confirmation`, never the model's word):

- yes: the action runs now, with the stored arguments and this turn's deps;
- no: it is cancelled and nothing happens (a no followed by a new request,
  "no. where are my trail runners instead?", lets the turn answer the request);
- neither, with nothing of its own ("y e s", "hmm ok?": `apps.agents.reask`): it keeps waiting and the customer
  is asked again, once, naming the action; a second such answer lapses it and says so (nothing changed);
- anything else (a question, another request), or too late (`PENDING_ACTION_TTL_MINUTES`): it expires, and the
  message is answered as a new one.

Exactly one decision per action: the row is locked while deciding. Actions a
planned message held together (`pending_requests`) are decided by one answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from apps.agents.confirmation import (
    Confirmation,
    answer_and_request,
    classify_confirmation,
    request_after_decline,
)
from apps.agents.deps import SupportDeps
from apps.agents.models import PendingAction, PendingActionStatus
from apps.agents.pending_requests import PENDING_AT_START, pending_action_request
from apps.agents.reask import carries_nothing_of_its_own, lapsed_reply, reask_question
from apps.agents.registry import tool_get, write_tools
from apps.agents.tools import ToolContext
from apps.agents.understanding.planner import split_pieces
from apps.core.errors import ApplicationError
from apps.core.fixed_sql import model_columns, model_from_row
from apps.observability.errors import capture_exception
from apps.observability.models import SpanKind
from apps.observability.recorder import summarize


@dataclass
class Resolution:
    action: PendingAction  # the first of the actions decided
    decision: Confirmation
    expired: bool
    reply: str  # what to tell the customer ("" when the turn should continue normally)
    # A no followed by a new request ("no. where are my trail runners instead?"): the turn answers the request too.
    asks_more: bool = False
    # What the message asks after its answer ("yes. and where are my trail runners at?"), answered by the turn.
    request: str = ""
    actions: tuple[PendingAction, ...] = ()  # every action decided (several when they were asked for together)


def pending_action_resolve(*, deps: SupportDeps) -> Resolution | None:
    """Decide the conversation's pending action(s) with this turn's customer message, if there are any.

    Actions held together (one message asked for several changes) are decided by one answer: a yes runs them all,
    in order; a no cancels them all."""
    with connection.cursor() as cursor:
        cursor.execute(
            _WAITING_SQL, [getattr(deps.message, "pk", None), deps.conversation.pk, PendingActionStatus.PENDING]
        )
        others, held = cursor.fetchone()
    # Whether any action waits at all: when none does and the turn holds none, its reply needs no look (turns).
    deps.facts[PENDING_AT_START] = bool(held)
    if not others:
        return None  # the common case, without opening a locking transaction
    now = timezone.now()
    with transaction.atomic():
        actions = _waiting_locked(deps)
        if not actions:
            return None
        decision = _decide(deps.text, actions)
        request = ""
        if decision == Confirmation.UNCLEAR:
            # "yes. and where are my trail runners at?": the answer decides the action, the rest is a new request
            answer, request = answer_and_request(deps.text, split_pieces(deps.text))
            decision = _decide(answer, actions) if request else decision
            request = request if decision != Confirmation.UNCLEAR else ""
        for action in actions:
            action.decided_by = deps.message
            action.decided_at = now
        first = actions[0]
        if first.expires_at <= now:
            _close(actions, PendingActionStatus.EXPIRED)
            _trace(deps, actions, decision, expired=True)
            summaries = "; ".join(a.summary for a in actions)
            reply = (
                f"Your earlier request ({summaries}) expired before it was confirmed, so nothing was changed. "
                "Ask me again if you still want it."
                if decision == Confirmation.YES
                else ""
            )
            return Resolution(first, decision, expired=True, reply=reply, actions=tuple(actions))
        if decision == Confirmation.NO:
            _close(actions, PendingActionStatus.CANCELLED)
            _trace(deps, actions, decision, expired=False)
            return Resolution(
                first,
                decision,
                expired=False,
                reply="Okay, I have not changed anything.",
                asks_more=bool(request or request_after_decline(deps.text)),
                actions=tuple(actions),
                request=request or request_after_decline(deps.text),
            )
        if decision == Confirmation.UNCLEAR:
            return _unclear(deps, actions, now)
        _close(actions, PendingActionStatus.CONFIRMED)

    # Run outside the deciding transaction: the tool's own services manage theirs.
    replies = [_run(deps, action) for action in actions]
    return Resolution(
        first,
        decision,
        expired=False,
        reply="\n\n".join(replies),
        asks_more=bool(request),
        actions=tuple(actions),
        request=request,
    )


def _unclear(deps: SupportDeps, actions: list[PendingAction], now: datetime) -> Resolution:
    """Neither yes nor no. An answer with nothing of its own is asked again once (the action keeps waiting), and a
    second such answer lapses it with a word; anything else lapses it and the message is answered as a new one."""
    first = actions[0]
    if not carries_nothing_of_its_own(deps.text, conversation=deps.conversation):
        _close(actions, PendingActionStatus.EXPIRED, result="not confirmed: the next message was not a yes")
        _trace(deps, actions, Confirmation.UNCLEAR, expired=False)
        return Resolution(first, Confirmation.UNCLEAR, expired=False, reply="", actions=tuple(actions))
    if first.reasked_at is not None:
        _close(actions, PendingActionStatus.EXPIRED, result="not confirmed: asked again, still neither yes nor no")
        _trace(deps, actions, Confirmation.UNCLEAR, expired=False)
        return Resolution(
            first, Confirmation.UNCLEAR, expired=False, reply=lapsed_reply(actions), actions=tuple(actions)
        )
    for action in actions:  # still waiting: this message decided nothing
        action.decided_by, action.decided_at, action.reasked_at = None, None, now
        action.save(update_fields=["reasked_at", "updated_at"])
    _trace(deps, actions, Confirmation.UNCLEAR, expired=False, reasked=True)
    return Resolution(first, Confirmation.UNCLEAR, expired=False, reply=reask_question(actions), actions=tuple(actions))


# The conversation's pending actions not held in this message, and all of them: every turn asks, so written as SQL
# (the ORM's compile of the aggregate took longer than PostgreSQL took to run it; issue 14).
_WAITING_SQL = (
    f"SELECT count(*) FILTER (WHERE requested_in_id IS DISTINCT FROM %s), count(*) "  # noqa: S608 - constant name
    f"FROM {PendingAction._meta.db_table} WHERE conversation_id = %s AND status = %s"
)


# `PendingAction.objects.select_for_update().filter(conversation=..., status=PENDING).exclude(requested_in=message)
# .order_by("position", "id")`, written once (`IS DISTINCT FROM` is the exclude's NULL handling, with or without a
# message): the ORM's compile of it and of a save per decided action cost more CPU than the statements (issue 14).
_LOCKED_SQL = (
    f"SELECT {model_columns(PendingAction, 'p')} FROM {PendingAction._meta.db_table} p "  # noqa: S608 - constants
    "WHERE p.conversation_id = %s AND p.status = %s AND p.requested_in_id IS DISTINCT FROM %s "
    "ORDER BY p.position, p.id FOR UPDATE"
)


def _waiting_locked(deps: SupportDeps) -> list[PendingAction]:
    with connection.cursor() as cursor:
        cursor.execute(
            _LOCKED_SQL, [deps.conversation.pk, PendingActionStatus.PENDING, getattr(deps.message, "pk", None)]
        )
        return [model_from_row(PendingAction, row)[0] for row in cursor.fetchall()]


def _decide(text: str, actions: list[PendingAction]) -> Confirmation:
    tools = write_tools()
    verbs = tuple(v for a in actions if a.tool_name in tools for v in _verbs(tools[a.tool_name], a))
    if len(actions) == 1:
        return classify_confirmation(text, verbs=verbs)
    return classify_confirmation(text, verbs=verbs, together=True)


def _verbs(spec: Any, action: PendingAction) -> tuple[str, ...]:
    """The verbs a yes may restate for this call: its tool's, and those its arguments add (its outcome)."""
    return spec.confirm_verbs + (spec.outcome_verbs(action.arguments or {}) if spec.outcome_verbs else ())


def _close(actions: list[PendingAction], status: str, *, result: str = "") -> None:
    """`action.save(update_fields=[status, decided_by, decided_at, updated_at (, result)])` for every action, in one
    UPDATE (the deciding turn set the same `decided_by` and `decided_at` on each)."""
    if not actions:
        return
    now = timezone.now()
    for action in actions:
        action.status, action.updated_at = status, now
        action.result = result or action.result
    first = actions[0]
    values = [status, first.decided_by_id, first.decided_at, now]
    sql = _CLOSE_SQL.format(result=", result = %s" if result else "")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, *([result] if result else []), [a.pk for a in actions]])


_CLOSE_SQL = (
    f"UPDATE {PendingAction._meta.db_table} SET status = %s, decided_by_id = %s, decided_at = %s, "  # noqa: S608
    "updated_at = %s{result} WHERE id = ANY(%s)"
)


def _run(deps: SupportDeps, action: PendingAction) -> str:
    """Run one confirmed action with this turn's deps; the customer-facing text of what happened."""
    spec = tool_get(action.tool_name, specialist=action.agent)
    with deps.trace.span(
        SpanKind.TOOL_CALL, spec.name, tool=spec.name, tool_class="write", arguments=action.arguments
    ) as data:
        data["confirmed_by_message"] = getattr(deps.message, "pk", None)
        try:
            result = spec.run(ToolContext(deps=deps), dict(action.arguments))
        except ApplicationError as exc:
            data["result"] = f"REFUSED ({exc.code}): {exc.message}"
            _finish(action, PendingActionStatus.FAILED, data["result"])
            return f"I could not do that: {exc.message}"
        except Exception as exc:  # noqa: BLE001 -- reported to Sentry, customer gets a plain message
            data["result"] = "failed"
            capture_exception(exc, tool=spec.name, pending_action=action.pk)
            _finish(action, PendingActionStatus.FAILED, f"{type(exc).__name__}")
            deps.facts["tool_failure"] = spec.name
            return (
                "Something went wrong on our side and nothing was changed. I can open a ticket or connect you "
                "with a person."
            )
        data["result"] = summarize(result)
    _finish(action, PendingActionStatus.EXECUTED, summarize(result))
    return spec.done_message(result, action.arguments) if spec.done_message else f"Done: {action.summary}."


def _finish(action: PendingAction, status: str, result: str) -> None:
    action.status = status
    action.result = result
    action.save(update_fields=["status", "result", "updated_at"])


def _trace(
    deps: SupportDeps, actions: list[PendingAction], decision: Confirmation, *, expired: bool, reasked: bool = False
) -> None:
    outcome = "expired" if expired else f"{decision}, asked again" if reasked else decision
    for action in actions:
        deps.trace.add(
            SpanKind.TOOL_CALL,
            action.tool_name,
            tool=action.tool_name,
            tool_class="write",
            arguments=action.arguments,
            result=f"not run: {outcome}",
            executed=False,
            pending_action=action.pk,
            reasked=reasked,
        )


def pending_actions_expire() -> int:
    """Mark lapsed pending actions expired (housekeeping; resolution also checks the time)."""
    return PendingAction.objects.filter(status=PendingActionStatus.PENDING, expires_at__lte=timezone.now()).update(
        status=PendingActionStatus.EXPIRED, decided_at=timezone.now()
    )


__all__ = ["Resolution", "pending_action_request", "pending_action_resolve", "pending_actions_expire"]
