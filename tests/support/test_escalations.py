"""Escalation to a human pauses the bot until staff hand the conversation back."""

from __future__ import annotations

import pytest

from apps.conversations.models import Conversation, ConversationStatus, MessageStatus
from apps.conversations.services import message_accept_customer
from apps.core.errors import ApplicationError, PermissionDenied
from apps.support.models import Escalation, EscalationStatus, SupportAuditEvent
from apps.support.services import (
    escalation_create,
    escalation_hand_back,
    escalation_resolve,
    escalation_take_over,
)
from tests.support.conftest import make_staff

pytestmark = pytest.mark.django_db


def _reload(conversation: Conversation) -> Conversation:
    return Conversation.objects.get(pk=conversation.pk)


def test_escalation_pauses_the_bot_and_tells_everyone(
    conversation, pushed, monkeypatch, django_capture_on_commit_callbacks
):
    # given
    turns: list[int] = []
    monkeypatch.setattr("apps.agents.turn_queue.turn_enqueue", lambda *, message_id: turns.append(message_id))
    # when
    with django_capture_on_commit_callbacks(execute=True):
        escalation = escalation_create(conversation=conversation, reason_code="customer_request", note="wants a human")
    # then
    assert (escalation.status, escalation.reason_code, escalation.note) == ("open", "customer_request", "wants a human")
    assert _reload(conversation).status == ConversationStatus.WAITING_HUMAN
    assert conversation.bot_paused is True
    [handoff] = pushed.to_conversation(conversation, "handoff")
    assert handoff == {
        "type": "chat.event",
        "event": "handoff",
        "status": "waiting_human",
        "agent": "",
        "escalation_id": escalation.pk,
        "reason_code": "customer_request",
    }
    [staff] = pushed.to_staff("escalation_created")
    assert staff["conversation"] == str(conversation.public_id)
    assert SupportAuditEvent.objects.get(subject_type="escalation").action == "created"
    # when: the customer writes while a human is awaited
    with django_capture_on_commit_callbacks(execute=True):
        message, created = message_accept_customer(
            conversation=_reload(conversation), text="hello?", client_message_id="c1"
        )
    # then: stored, not sent to the bot
    assert created is True
    assert message.status == MessageStatus.SKIPPED
    assert turns == []


def test_second_escalation_returns_the_live_one(conversation):
    # given
    first = escalation_create(conversation=conversation, reason_code="low_confidence")
    # when
    second = escalation_create(conversation=_reload(conversation), reason_code="negative_sentiment")
    # then
    assert second.pk == first.pk
    assert Escalation.objects.count() == 1


@pytest.mark.parametrize("reason", ["", "because", "CUSTOMER_REQUEST"])
def test_unknown_reason_is_refused(conversation, reason):
    with pytest.raises(ApplicationError) as exc:
        escalation_create(conversation=conversation, reason_code=reason)
    assert exc.value.code == "invalid_reason"
    assert Escalation.objects.count() == 0
    assert _reload(conversation).status == ConversationStatus.OPEN


def test_closed_conversation_cannot_be_escalated(conversation):
    # given
    Conversation.objects.filter(pk=conversation.pk).update(status=ConversationStatus.CLOSED)
    # when
    with pytest.raises(ApplicationError) as exc:
        escalation_create(conversation=conversation, reason_code="tool_failure")
    # then
    assert exc.value.code == "conversation_closed"
    assert Escalation.objects.count() == 0


def test_take_over_needs_a_support_role(conversation, django_capture_on_commit_callbacks, pushed):
    # given: an operator reviews transcripts but does not handle chats
    operator = make_staff("operator")
    escalation = escalation_create(conversation=conversation, reason_code="repeated_failure")
    # when
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(PermissionDenied):
        escalation_take_over(escalation=escalation, staff_user=operator)
    # then
    escalation.refresh_from_db()
    assert escalation.status == EscalationStatus.OPEN
    assert _reload(conversation).status == ConversationStatus.WAITING_HUMAN
    assert pushed.to_staff("escalation_taken") == []


def test_take_over_hand_back_cycle(conversation, lead, pushed, monkeypatch, django_capture_on_commit_callbacks):
    # given
    escalation = escalation_create(conversation=conversation, reason_code="policy_exception")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        escalation = escalation_take_over(escalation=escalation, staff_user=lead)
    # then
    assert (escalation.status, escalation.taken_by) == (EscalationStatus.TAKEN, lead)
    current = _reload(conversation)
    assert (current.status, current.assigned_to) == (ConversationStatus.HUMAN, lead)
    taken = pushed.to_conversation(conversation, "handoff")[-1]
    assert (taken["status"], taken["agent"]) == ("human", lead.first_name)
    # when: a second lead tries to take it too
    with pytest.raises(ApplicationError) as exc:
        escalation_take_over(escalation=escalation, staff_user=make_staff("support_lead"))
    assert exc.value.code == "escalation_not_open"
    # when: handed back
    with django_capture_on_commit_callbacks(execute=True):
        escalation = escalation_hand_back(escalation=escalation, staff_user=lead)
    # then: the bot answers again
    assert escalation.status == EscalationStatus.HANDED_BACK
    current = _reload(conversation)
    assert (current.status, current.assigned_to, current.bot_paused) == (ConversationStatus.OPEN, None, False)
    assert pushed.to_conversation(conversation, "handoff")[-1]["status"] == "open"
    turns: list[int] = []
    monkeypatch.setattr("apps.agents.turn_queue.turn_enqueue", lambda *, message_id: turns.append(message_id))
    with django_capture_on_commit_callbacks(execute=True):
        message, _ = message_accept_customer(conversation=current, text="thanks", client_message_id="c2")
    assert turns == [message.pk]
    assert list(SupportAuditEvent.objects.filter(subject_type="escalation").values_list("action", "to_state")) == [
        ("created", "open"),
        ("taken_over", "taken"),
        ("handed_back", "handed_back"),
    ]
    # and the conversation can be escalated again later
    again = escalation_create(conversation=current, reason_code="customer_request")
    assert again.pk != escalation.pk


def test_support_agent_takes_over_and_only_the_holder_or_a_lead_hands_back(conversation, agent_user, lead):
    # given: support agents handle escalations but do not reassign them
    holder = agent_user
    other = make_staff("support_agent")
    escalation = escalation_take_over(
        escalation=escalation_create(conversation=conversation, reason_code="tool_failure"), staff_user=holder
    )
    # when
    with pytest.raises(PermissionDenied) as exc:
        escalation_hand_back(escalation=escalation, staff_user=other)
    # then
    assert exc.value.code == "not_yours"
    assert _reload(conversation).status == ConversationStatus.HUMAN
    with pytest.raises(PermissionDenied):
        escalation_resolve(escalation=escalation, staff_user=other, resolution_code="x")
    # when: a lead (assign_escalation) may
    escalation = escalation_hand_back(escalation=escalation, staff_user=lead)
    # then
    assert escalation.status == EscalationStatus.HANDED_BACK


def test_resolve_closes_the_conversation(conversation, lead, pushed, django_capture_on_commit_callbacks):
    # given
    escalation = escalation_take_over(
        escalation=escalation_create(conversation=conversation, reason_code="budget_exhausted"), staff_user=lead
    )
    # when
    with pytest.raises(ApplicationError):
        escalation_resolve(escalation=escalation, staff_user=lead, resolution_code=" ")
    with django_capture_on_commit_callbacks(execute=True):
        escalation = escalation_resolve(escalation=escalation, staff_user=lead, resolution_code="refunded")
    # then
    assert (escalation.status, escalation.resolution_code) == (EscalationStatus.RESOLVED, "refunded")
    current = _reload(conversation)
    assert (current.status, current.resolution_code) == (ConversationStatus.CLOSED, "refunded")
    assert current.closed_at is not None
    assert pushed.to_conversation(conversation, "handoff")[-1]["status"] == "closed"
    with pytest.raises(ApplicationError) as exc:
        escalation_hand_back(escalation=escalation, staff_user=lead)
    assert exc.value.code == "escalation_not_active"


def test_admin_escalation_actions(client, conversation, lead):
    # given
    escalation = escalation_create(conversation=conversation, reason_code="customer_request")
    client.force_login(lead)
    url = "/admin/support/escalation/"
    # when
    client.post(url, {"action": "take_over", "_selected_action": [escalation.pk]})
    form = client.post(url, {"action": "resolve", "_selected_action": [escalation.pk]})
    client.post(url, {"action": "resolve", "_selected_action": [escalation.pk], "apply": "1", "reason": "solved"})
    # then
    assert form.status_code == 200
    escalation.refresh_from_db()
    assert (escalation.status, escalation.taken_by, escalation.resolution_code) == ("resolved", lead, "solved")
    assert _reload(conversation).status == ConversationStatus.CLOSED
