"""Write actions held for the customer's confirmation.

A `write` tool called by the model stores a `PendingAction` (the validated
arguments and a plain summary). At the start of the customer's NEXT turn,
`pending_action_resolve` reads their text with the one deterministic yes/no
classifier (`apps.agents.confirmation`, never the model's word):

- yes: the action runs now, with the stored arguments and this turn's deps;
- no: it is cancelled and nothing happens;
- anything else, or too late (`PENDING_ACTION_TTL_MINUTES`): it expires.

Exactly one decision per action: the row is locked while deciding.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.agents.confirmation import Confirmation, classify_confirmation
from apps.agents.deps import SupportDeps
from apps.agents.models import PendingAction, PendingActionStatus
from apps.agents.pending_requests import pending_action_request
from apps.agents.registry import tool_get
from apps.agents.tools import ToolContext
from apps.core.errors import ApplicationError
from apps.observability.errors import capture_exception
from apps.observability.models import SpanKind
from apps.observability.recorder import summarize


@dataclass
class Resolution:
    action: PendingAction
    decision: Confirmation
    expired: bool
    reply: str  # what to tell the customer ("" when the turn should continue normally)


def pending_action_resolve(*, deps: SupportDeps) -> Resolution | None:
    """Decide the conversation's pending action with this turn's customer message, if there is one."""
    pending = PendingAction.objects.filter(conversation=deps.conversation, status=PendingActionStatus.PENDING)
    if not pending.exclude(requested_in=deps.message).exists():
        return None  # the common case, without opening a locking transaction
    now = timezone.now()
    with transaction.atomic():
        action = (
            PendingAction.objects.select_for_update()
            .filter(conversation=deps.conversation, status=PendingActionStatus.PENDING)
            .exclude(requested_in=deps.message)
            .first()
        )
        if action is None:
            return None
        decision = classify_confirmation(deps.text, tool_name=action.tool_name)
        action.decided_by = deps.message
        action.decided_at = now
        if action.expires_at <= now:
            action.status = PendingActionStatus.EXPIRED
            action.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
            _trace(deps, action, decision, expired=True)
            reply = (
                f"Your earlier request ({action.summary}) expired before it was confirmed, so nothing was changed. "
                "Ask me again if you still want it."
                if decision == Confirmation.YES
                else ""
            )
            return Resolution(action, decision, expired=True, reply=reply)
        if decision == Confirmation.NO:
            action.status = PendingActionStatus.CANCELLED
            action.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
            _trace(deps, action, decision, expired=False)
            return Resolution(action, decision, expired=False, reply="Okay, I have not changed anything.")
        if decision == Confirmation.UNCLEAR:
            # Not a confirmation: the action lapses and the message is handled as a new request.
            action.status = PendingActionStatus.EXPIRED
            action.result = "not confirmed: the next message was not a yes"
            action.save(update_fields=["status", "result", "decided_by", "decided_at", "updated_at"])
            _trace(deps, action, decision, expired=False)
            return Resolution(action, decision, expired=False, reply="")
        action.status = PendingActionStatus.CONFIRMED
        action.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])

    # Run outside the deciding transaction: the tool's own services manage theirs.
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
            return Resolution(action, decision, expired=False, reply=f"I could not do that: {exc.message}")
        except Exception as exc:  # noqa: BLE001 -- reported to Sentry, customer gets a plain message
            data["result"] = "failed"
            capture_exception(exc, tool=spec.name, pending_action=action.pk)
            _finish(action, PendingActionStatus.FAILED, f"{type(exc).__name__}")
            deps.facts["tool_failure"] = spec.name
            return Resolution(
                action,
                decision,
                expired=False,
                reply="Something went wrong on our side and nothing was changed. I can open a ticket or connect you "
                "with a person.",
            )
        data["result"] = summarize(result)
    _finish(action, PendingActionStatus.EXECUTED, summarize(result))
    reply = spec.done_message(result, action.arguments) if spec.done_message else f"Done: {action.summary}."
    return Resolution(action, decision, expired=False, reply=reply)


def _finish(action: PendingAction, status: str, result: str) -> None:
    action.status = status
    action.result = result
    action.save(update_fields=["status", "result", "updated_at"])


def _trace(deps: SupportDeps, action: PendingAction, decision: Confirmation, *, expired: bool) -> None:
    deps.trace.add(
        SpanKind.TOOL_CALL,
        action.tool_name,
        tool=action.tool_name,
        tool_class="write",
        arguments=action.arguments,
        result=f"not run: {'expired' if expired else decision}",
        executed=False,
        pending_action=action.pk,
    )


def pending_actions_expire() -> int:
    """Mark lapsed pending actions expired (housekeeping; resolution also checks the time)."""
    return PendingAction.objects.filter(status=PendingActionStatus.PENDING, expires_at__lte=timezone.now()).update(
        status=PendingActionStatus.EXPIRED, decided_at=timezone.now()
    )


__all__ = ["Resolution", "pending_action_request", "pending_action_resolve", "pending_actions_expire"]
