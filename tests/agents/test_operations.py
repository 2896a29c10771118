from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.agents.breaker import CircuitBreaker, redis_client
from apps.agents.models import PendingAction, PendingActionStatus
from apps.agents.tasks import expire_pending_actions

pytestmark = pytest.mark.django_db


def test_breakers_command_shows_and_resets_state(providers: Any, settings: Any) -> None:
    # given
    settings.SWITCHBOARD_BREAKER_FAILURES = 1
    host = providers.openai_base_url.split("/")[2]
    CircuitBreaker.for_provider(f"openai@{host}").record_failure()
    out = StringIO()
    # when
    call_command("breakers", stdout=out)
    # then
    assert f"openai@{host}: open (0 failures in the window)" in out.getvalue()
    assert f"anthropic@{providers.anthropic_base_url.split('/')[2]}: closed" in out.getvalue()
    # when
    call_command("breakers", "--reset", f"openai@{host}", stdout=StringIO())
    # then
    assert redis_client().get(f"switchboard:breaker:openai@{host}:state") is None


def test_breakers_command_with_only_local(settings: Any) -> None:
    settings.OPENAI_API_KEY = settings.OPENAI_BASE_URL = settings.ANTHROPIC_API_KEY = ""
    out = StringIO()
    call_command("breakers", stdout=out)
    assert out.getvalue().strip() == "only the local model is configured: no breakers"


def test_lapsed_pending_actions_are_expired_by_the_beat_job(conversation: Any) -> None:
    # given
    now = timezone.now()
    lapsed = PendingAction.objects.create(
        conversation=conversation, tool_name="x", summary="x", expires_at=now - timedelta(minutes=1)
    )
    PendingAction.objects.create(
        conversation=conversation,
        tool_name="y",
        summary="y",
        status=PendingActionStatus.EXECUTED,
        expires_at=now - timedelta(minutes=1),
    )
    # when
    count = expire_pending_actions()
    # then
    assert count == 1
    lapsed.refresh_from_db()
    assert lapsed.status == PendingActionStatus.EXPIRED
    assert list(PendingAction.objects.order_by("id").values_list("status", flat=True)) == ["expired", "executed"]
