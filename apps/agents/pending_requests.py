"""Holding a write for the customer's confirmation: the `PendingAction` row a `write` tool's call stores.

Separate from `pending` (which decides and runs held actions with the tools) so
that the tools can hold a write without importing what runs it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.agents.deps import SupportDeps
from apps.agents.models import PendingAction, PendingActionStatus


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
