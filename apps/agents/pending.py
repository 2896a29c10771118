"""Write actions held for the customer's confirmation.

A `write` tool called by the model stores a `PendingAction` (the validated
arguments and a plain summary). At the start of the customer's NEXT turn,
`pending_action_resolve` reads their text with a deterministic yes/no
classifier (never the model's word):

- yes: the action runs now, with the stored arguments and this turn's deps;
- no: it is cancelled and nothing happens;
- anything else, or too late (`PENDING_ACTION_TTL_MINUTES`): it expires.

Exactly one decision per action: the row is locked while deciding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.agents.deps import SupportDeps
from apps.agents.models import PendingAction, PendingActionStatus
from apps.core.errors import ApplicationError
from apps.observability.errors import capture_exception
from apps.observability.models import SpanKind
from apps.observability.recorder import summarize


class Confirmation(StrEnum):
    YES = "yes"
    NO = "no"
    UNCLEAR = "unclear"


_YES_PHRASES = (
    r"y|yes|yeah|yea|yep|yup|sure|ok|okay|k|confirm|confirmed|i confirm|correct|right|please do|do it|"
    r"go ahead|go for it|proceed|absolutely|definitely|of course|please|that'?s right|sounds good|affirmative|"
    r"approved?|i do|let'?s do it|that'?s fine|fine|alright|all right"
)
_NO_PHRASES = (
    r"n|no|nope|nah|no thanks|no thank you|cancel|cancel it|don'?t|don'?t do it|do not|stop|never ?mind|wait|"
    r"hold on|not now|abort|negative|forget it|leave it|i changed my mind"
)
# One or more phrases in a row: "yes please do it", "no don't".
_YES = re.compile(rf"^(?:{_YES_PHRASES})(?: (?:{_YES_PHRASES}))*$")
_NO = re.compile(rf"^(?:{_NO_PHRASES})(?: (?:{_NO_PHRASES}))*$")
_NEGATION = re.compile(r"\b(?:no|not|don'?t|do not|never|cancel|stop|wait)\b")


_FILLER = {"thanks", "thank you", "thx", "please", "pls", "ty"}

# A customer often confirms by restating the action: "yes, cancel it" to "shall I cancel
# TW-100001?". The restatement counts only for the verb of the action actually pending, so
# "yes, cancel it" never confirms an address change.
_ACTION_VERBS = {
    "cancel": "cancel",
    "change": "change|update",
    "create": "create|open|start|book|file|make",
    "send": "send|email|resend",
}


def _restatement(tool_name: str) -> re.Pattern[str] | None:
    verbs = _ACTION_VERBS.get(tool_name.split("_", 1)[0])
    if verbs is None:
        return None
    obj = r"(?: (?:it|that|this|them|(?:the|my) [a-z']+(?: [a-z']+)?))?"
    return re.compile(rf"^(?:please )?(?:{verbs}){obj}(?: (?:now|please|then))?$")


def _is_yes(clause: str) -> bool:
    return bool(_YES.match(clause)) and not _NEGATION.search(clause)


def _yes_then_restated(clause: str, restated: re.Pattern[str]) -> bool:
    """One clause like "yes cancel it": a yes followed by the pending action's own verb."""
    words = clause.split(" ")
    return any(_is_yes(" ".join(words[:i])) and restated.match(" ".join(words[i:])) for i in range(1, len(words)))


def classify_confirmation(text: str, *, tool_name: str = "") -> Confirmation:
    """Deterministic: a clear yes, a clear no, or unclear.

    The message is split into short clauses ("Yes, please go ahead." -> "yes",
    "please go ahead"); fillers ("thanks") are dropped; every clause must agree.
    A "yes" next to anything else ("yes but change the address") is unclear: an
    unclear answer never runs an action. The one exception is a yes that restates
    the pending action's own verb (`tool_name` "cancel_order": "yes, cancel it").
    """
    cleaned = text.lower().replace("’", "'")
    clauses = [re.sub(r"[^a-z' ]+", " ", c) for c in re.split(r"[.,!?;:\n]+|\s+-\s+", cleaned)]
    clauses = [re.sub(r"\s+", " ", c).strip() for c in clauses]
    clauses = [re.sub(r"(?: (?:thanks|thank you|thx|ty))+$", "", c) for c in clauses]
    clauses = [c for c in clauses if c and c not in _FILLER]
    if not clauses or len(clauses) > 4:
        return Confirmation.UNCLEAR
    if all(_is_yes(c) for c in clauses):
        return Confirmation.YES
    restated = _restatement(tool_name) if tool_name else None
    if restated is not None and (
        (_is_yes(clauses[0]) and all(_is_yes(c) or restated.match(c) for c in clauses[1:]))
        or (len(clauses) == 1 and _yes_then_restated(clauses[0], restated))
    ):
        return Confirmation.YES
    if all(_NO.match(c) for c in clauses):
        return Confirmation.NO
    return Confirmation.UNCLEAR


def pending_action_request(
    *, deps: SupportDeps, tool_name: str, arguments: dict[str, Any], summary: str
) -> PendingAction:
    """Hold a write for confirmation; an older pending action in the conversation is superseded (cancelled)."""
    now = timezone.now()
    with transaction.atomic():
        PendingAction.objects.select_for_update().filter(
            conversation=deps.conversation, status=PendingActionStatus.PENDING
        ).update(status=PendingActionStatus.CANCELLED, decided_at=now, result="superseded by a newer request")
        return PendingAction.objects.create(
            conversation=deps.conversation,
            requested_in=deps.message,
            agent=deps.agent,
            tool_name=tool_name,
            arguments=arguments,
            summary=summary,
            expires_at=now + timedelta(minutes=settings.PENDING_ACTION_TTL_MINUTES),
        )


@dataclass
class Resolution:
    action: PendingAction
    decision: Confirmation
    expired: bool
    reply: str  # what to tell the customer ("" when the turn should continue normally)


def pending_action_resolve(*, deps: SupportDeps) -> Resolution | None:
    """Decide the conversation's pending action with this turn's customer message, if there is one."""
    from apps.agents.tools import ToolContext, tool_get

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
    spec = tool_get(action.tool_name)
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
