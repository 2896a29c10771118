"""Daily budgets for guests (no customer): per browser session, per starting address and for all guests together.

The attack in issue 12 opened a new conversation per turn from one address; nothing it can shed (the
conversation, the cookie) may reset what it has spent.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from apps.agents.budgets import BUDGET_EXHAUSTED_REPLY, budget_exceeded_before_turn, guest_spend_count
from apps.agents.turns import _persist_trace, turn_run
from apps.conversations.models import Conversation, ConversationStatus, Message
from apps.observability.models import Trace, TraceStatus
from apps.observability.recorder import TraceRecorder

pytestmark = pytest.mark.django_db


def _spent(*, tokens: int = 0, cost: str = "0", ip: str | None = None, session_key: str = "", when: Any = None) -> None:
    """An earlier guest turn, in a conversation of its own, counted as a turn counts its stored trace."""
    conversation = Conversation.objects.create(client_ip=ip, session_key=session_key)
    trace = Trace.objects.create(
        conversation=conversation,
        input_tokens=tokens,
        cost=Decimal(cost),
        started_at=when or timezone.now(),
    )
    guest_spend_count(trace)


def test_guest_tokens_per_address_hand_off_a_new_conversation_without_a_model_call(
    say: Any, pushed: list, route_to: Any, settings: Any
) -> None:
    # given: earlier cookieless conversations from one address spent its daily tokens
    settings.SWITCHBOARD_GUEST_DAILY_MAX_TOKENS_PER_IP = 1000
    _spent(tokens=600, ip="203.0.113.7")
    _spent(tokens=600, ip="203.0.113.7")
    route_to("order")
    fresh = Conversation.objects.create(client_ip="203.0.113.7")
    message = say("Where is my order?", fresh)
    # when: the same address asks again in a brand-new conversation
    turn_run(message_id=message.pk)
    # then: a polite hand-off, no model call
    assert Message.objects.get(in_reply_to=message).text == BUDGET_EXHAUSTED_REPLY
    trace = Trace.objects.get(message=message)
    assert trace.status == TraceStatus.HANDOFF
    assert trace.error == "budget exhausted: guest tokens today from this address 1200 >= 1000"
    assert trace.spans.filter(kind="model_call").count() == 0
    fresh.refresh_from_db()
    assert fresh.status == ConversationStatus.WAITING_HUMAN


def test_another_address_is_not_held_by_its_neighbours_spend(settings: Any) -> None:
    settings.SWITCHBOARD_GUEST_DAILY_MAX_TOKENS_PER_IP = 1000
    _spent(tokens=1200, ip="203.0.113.7")
    other = Conversation.objects.create(client_ip="198.51.100.8")
    assert budget_exceeded_before_turn(conversation=other, customer=None) == ""


def test_guest_turns_and_cost_per_address(settings: Any) -> None:
    settings.SWITCHBOARD_GUEST_DAILY_MAX_TURNS_PER_IP = 2
    _spent(ip="203.0.113.7")
    fresh = Conversation.objects.create(client_ip="203.0.113.7")
    assert budget_exceeded_before_turn(conversation=fresh, customer=None) == ""
    _spent(ip="203.0.113.7", cost="0.10")
    assert budget_exceeded_before_turn(conversation=fresh, customer=None) == (
        "guest turns today from this address 2 >= 2"
    )
    settings.SWITCHBOARD_GUEST_DAILY_MAX_TURNS_PER_IP = 0
    settings.SWITCHBOARD_GUEST_DAILY_MAX_COST_PER_IP = Decimal("0.10")
    assert budget_exceeded_before_turn(conversation=fresh, customer=None) == (
        "guest cost today from this address 0.100000 >= 0.10"
    )


def test_all_guests_together_have_a_daily_cost_budget(settings: Any) -> None:
    # given: many addresses, each under its own limit, together over the total
    settings.SWITCHBOARD_GUEST_DAILY_MAX_COST = Decimal("2.00")
    for i in range(5):
        _spent(cost="0.50", ip=f"198.51.100.{i}")
    fresh = Conversation.objects.create(client_ip="192.0.2.200")
    # then: a new guest is handed off too
    assert budget_exceeded_before_turn(conversation=fresh, customer=None) == "guest cost today 2.500000 >= 2.00"


def test_all_guests_together_have_a_daily_token_budget(settings: Any) -> None:
    settings.SWITCHBOARD_GUEST_DAILY_MAX_TOKENS = 1000
    _spent(tokens=700, ip="198.51.100.1")
    _spent(tokens=700)  # a conversation with no known address counts in the total
    fresh = Conversation.objects.create()
    assert budget_exceeded_before_turn(conversation=fresh, customer=None) == "guest tokens today 1400 >= 1000"


def test_conversation_limits_span_the_sessions_conversations_today(settings: Any) -> None:
    # given: the per-conversation turn limit is 2 and the session already used 2 turns in other conversations
    settings.SWITCHBOARD_CONVERSATION_MAX_TURNS = 2
    _spent(session_key="s-abc")
    _spent(session_key="s-abc")
    fresh = Conversation.objects.create(session_key="s-abc")
    other_session = Conversation.objects.create(session_key="s-xyz")
    # then: a new conversation does not reset them; another session is not held
    assert budget_exceeded_before_turn(conversation=fresh, customer=None) == "session turns today 2 >= 2"
    assert budget_exceeded_before_turn(conversation=other_session, customer=None) == ""


def test_yesterdays_guest_spend_does_not_count(settings: Any) -> None:
    settings.SWITCHBOARD_GUEST_DAILY_MAX_TOKENS_PER_IP = 1000
    settings.SWITCHBOARD_GUEST_DAILY_MAX_TOKENS = 1000
    _spent(tokens=5000, ip="203.0.113.7", when=timezone.now() - timedelta(days=1, hours=1))
    fresh = Conversation.objects.create(client_ip="203.0.113.7")
    assert budget_exceeded_before_turn(conversation=fresh, customer=None) == ""


def test_a_customers_spend_is_not_a_guests(customer: Any, settings: Any) -> None:
    # signed-in customers have their own daily budget; it does not count against guests from their address
    settings.SWITCHBOARD_GUEST_DAILY_MAX_TOKENS_PER_IP = 1000
    theirs = Conversation.objects.create(customer=customer, client_ip="203.0.113.7")
    trace = Trace.objects.create(conversation=theirs, customer=customer, input_tokens=5000, started_at=timezone.now())
    guest_spend_count(trace)
    guest = Conversation.objects.create(client_ip="203.0.113.7")
    assert budget_exceeded_before_turn(conversation=guest, customer=None) == ""


def test_a_guest_turn_counts_in_its_session_address_and_all_guests_once_committed(
    say: Any, pushed: list, route_to: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given: one turn per address and session allowed
    settings.SWITCHBOARD_GUEST_DAILY_MAX_TURNS_PER_IP = 1
    route_to("order")
    first = Conversation.objects.create(client_ip="203.0.113.9", session_key="s-one")
    message = say("Where is my order?", first)
    # when: a guest turn runs, stores its trace and commits
    with django_capture_on_commit_callbacks(execute=True):
        turn_run(message_id=message.pk)
    # then: a new conversation from the address is held by the counted turn; another address is not
    again = Conversation.objects.create(client_ip="203.0.113.9")
    assert budget_exceeded_before_turn(conversation=again, customer=None) == (
        "guest turns today from this address 1 >= 1"
    )
    assert (
        budget_exceeded_before_turn(conversation=Conversation.objects.create(client_ip="198.51.100.9"), customer=None)
        == ""
    )


def _store_trace_then_fail(recorder: TraceRecorder) -> None:
    with transaction.atomic():
        _persist_trace(recorder)
        raise RuntimeError("the reply could not be stored")


def test_a_turn_rolled_back_counts_nothing(settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    # given: a guest trace stored in a transaction that then fails
    settings.SWITCHBOARD_GUEST_DAILY_MAX_TURNS_PER_IP = 1
    conversation = Conversation.objects.create(client_ip="203.0.113.10")
    recorder = TraceRecorder(conversation=conversation, message=None, customer=None)
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        _store_trace_then_fail(recorder)
    # then: no trace, and the address has nothing counted
    assert callbacks == []
    assert Trace.objects.filter(conversation=conversation).count() == 0
    fresh = Conversation.objects.create(client_ip="203.0.113.10")
    assert budget_exceeded_before_turn(conversation=fresh, customer=None) == ""
