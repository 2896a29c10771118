"""Holding a write for the customer's confirmation: the `PendingAction` row a `write` tool's call stores.

Separate from `pending` (which decides and runs held actions with the tools) so
that the tools can hold a write without importing what runs it.

A message that asks for several changes ("cancel my mug order and change the address on the rain jacket
order") is planned (`apps.agents.turns._planned_turn`), which sets `deps.facts[WRITES_TOGETHER]`: its writes
are then held side by side (`position` 0, 1, ...) and confirmed together by one yes, with one question that
lists them all (`together_question`). Otherwise a newer request supersedes the one waiting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from apps.agents.deps import SupportDeps
from apps.agents.models import PendingAction, PendingActionStatus
from apps.core.fixed_sql import model_insert

# deps.facts keys: the plan holds its writes together; the summaries held in this turn, in order.
WRITES_TOGETHER = "writes_together"
HELD_WRITES = "held_writes"
# deps.facts key: whether the conversation had a pending action when the turn began (`pending_action_resolve`).
PENDING_AT_START = "pending_at_start"


def pending_action_request(
    *, deps: SupportDeps, tool_name: str, arguments: dict[str, Any], summary: str, together: bool = False
) -> PendingAction:
    """Hold a write for confirmation; an older pending action in the conversation is superseded (cancelled),
    except one held in this same message when the turn holds its writes together (a plan's steps, or `together`:
    the model asked for several writes in one response, "cancel both of my pending orders")."""
    now = timezone.now()
    together = (together or bool(deps.facts.get(WRITES_TOGETHER))) and deps.message is not None
    with transaction.atomic():
        # The older pending actions superseded (all of them, or those of earlier messages when held together): the
        # ORM's `.update()` as SQL, without its compile (a help-center turn that finds nothing offers a ticket).
        with connection.cursor() as cursor:
            cursor.execute(
                _SUPERSEDE_SQL + (" AND requested_in_id IS DISTINCT FROM %s" if together else ""),
                [
                    PendingActionStatus.CANCELLED,
                    now,
                    "superseded by a newer request",
                    deps.conversation.pk,
                    PendingActionStatus.PENDING,
                    *([deps.message.pk] if together else []),
                ],
            )
        # Only writes held together need a position; the queryset's compile is not free (issue 14).
        position = (
            PendingAction.objects.select_for_update()
            .filter(conversation=deps.conversation, status=PendingActionStatus.PENDING, requested_in=deps.message)
            .count()
            if together
            else 0
        )
        action = PendingAction(
            conversation=deps.conversation,
            requested_in=deps.message,
            agent=deps.agent,
            tool_name=tool_name,
            arguments=arguments,
            summary=summary,
            position=position,
            expires_at=now + timedelta(minutes=settings.PENDING_ACTION_TTL_MINUTES),
        )
        model_insert(action)
    deps.facts.setdefault(HELD_WRITES, []).append(summary)
    return action


_SUPERSEDE_SQL = (
    f"UPDATE {PendingAction._meta.db_table} SET status = %s, decided_at = %s, result = %s "  # noqa: S608 - constant
    "WHERE conversation_id = %s AND status = %s"
)


def awaiting_confirmation(deps: SupportDeps) -> bool:
    """Whether an unexpired action of the conversation waits for the customer's yes or no (after a turn's tools ran).

    Only `pending_action_request` creates pending actions, and it notes them in HELD_WRITES: with none waiting when
    the turn began (`PENDING_AT_START`, noted by `pending_action_resolve`) and none held since, none can wait now."""
    if not deps.facts.get(PENDING_AT_START, True) and not deps.facts.get(HELD_WRITES):
        return False
    with connection.cursor() as cursor:
        cursor.execute(_AWAITING_SQL, [deps.conversation.pk, PendingActionStatus.PENDING, timezone.now()])
        return cursor.fetchone()[0]


# Asked after most turns' tools: written as SQL, the ORM's compile cost more CPU than the statement (issue 14).
_AWAITING_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM {PendingAction._meta.db_table} "  # noqa: S608 - constant name, bound values
    "WHERE conversation_id = %s AND status = %s AND expires_at > %s)"
)


def together_question(summaries: Sequence[str]) -> str:
    """The one confirmation question for several changes asked for in one message."""
    listed = "\n".join(f"{n}. {summary[:1].upper()}{summary[1:]}" for n, summary in enumerate(summaries, start=1))
    return (
        f"Just to confirm, I will make these {len(summaries)} changes:\n\n{listed}\n\n"
        f"Reply **yes** to make all {len(summaries)}, or **no** to leave everything as it is "
        "(to make only some of them, reply no and ask me for those again)."
    )
