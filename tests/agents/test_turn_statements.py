"""How many SQL statements a turn's own plumbing runs (issue 14: every statement is CPU in the worker and in
PostgreSQL). The specialist is the default, tool-less one and the route fixed, so the count is the runtime's:
locking, state, budgets, pending actions, history, guardrail context, the reply, the trace."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.agents.turns import turn_run
from apps.conversations.models import Conversation, Message, MessageRole, MessageStatus
from apps.conversations.services import message_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("default_specialists")]


def _guest_message(text: str) -> Message:
    conversation = Conversation.objects.create(session_key="s" * 32, client_ip="10.1.2.3")
    return message_create(
        conversation=conversation, role=MessageRole.CUSTOMER, text=text, status=MessageStatus.RECEIVED
    )


def _statements(message: Message) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        turn_run(message_id=message.pk)
    return [q["sql"][:100] for q in captured.captured_queries]


def test_a_guest_turn_runs_fourteen_statements_plus_the_tests_savepoint(pushed: list, route_to: Any) -> None:
    # given a guest's question, a conversation without pending actions
    route_to("order")
    message = _guest_message("Where is my parcel?")

    # when
    statements = _statements(message)

    # then: message, lock, fresh state (with earlier waiting), budgets, pending, history, guardrail context;
    # in the write transaction the route, the reply (the seq counted with the last message time and the insert in
    # one statement, no savepoint of its own), the answered mark, the trace (savepoint, the trace with its spans in
    # one statement, release); unlock. The write transaction's BEGIN/COMMIT are not statements; inside the test's
    # own transaction they are a SAVEPOINT and a RELEASE (+2). The guests' daily budgets are Redis counters, not
    # statements.
    assert len(statements) == 14 + 2, "\n".join(statements)
    assert Message.objects.get(in_reply_to=message).role == MessageRole.ASSISTANT


def test_a_redelivered_turn_runs_four_statements_and_writes_nothing(pushed: list, route_to: Any) -> None:
    # given a message already answered
    route_to("order")
    message = _guest_message("Where is my parcel?")
    turn_run(message_id=message.pk)

    # when it is delivered again
    statements = _statements(message)

    # then: message, lock, fresh state, unlock; no second reply
    assert len(statements) == 4, "\n".join(statements)
    assert Message.objects.filter(in_reply_to=message).count() == 1
