"""The staff console pages: take over, reply, hand back, close; the customer sidebar, internal notes,
saved replies, assignment and the queue's mine / unassigned / all filters."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.accounts.roles import OPERATOR, SUPPORT_AGENT, SUPPORT_LEAD
from apps.commerce.models import Customer
from apps.conversations import selectors as conversation_selectors
from apps.conversations import services
from apps.conversations.models import Conversation, ConversationEvent, ConversationStatus, Message
from apps.core.errors import ApplicationError
from apps.support.models import Escalation, EscalationStatus, InternalNote, SavedReply, SupportAuditEvent, Ticket
from apps.support.services import escalation_create, escalation_take_over, refund_approval_request
from apps.support.services.console import console_assign, internal_note_create
from tests.conversations.conftest import make_customer, make_user
from tests.support.conftest import make_order, make_staff

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _staff(*perms: str):
    user = make_user(staff=True, perms=perms)
    client = Client()
    client.force_login(user)
    return user, client


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _waiting(customer: Customer | None = None) -> Conversation:
    conversation = services.conversation_start(customer=customer or make_customer())
    conversation.status = ConversationStatus.WAITING_HUMAN
    conversation.save()
    return conversation


def test_console_requires_the_takeover_permission():
    _, no_perm = _staff()
    assert Client().get("/console/").status_code == 302  # to the sign-in page
    assert no_perm.get("/console/").status_code == 403


def test_console_takeover_reply_hand_back_and_close(turns):
    staff, client = _staff("conversations.takeover_conversation")
    conversation = services.conversation_start(customer=make_customer())
    services.message_accept_customer(conversation=conversation, text=HOSTILE, client_message_id="c1")
    conversation.status = ConversationStatus.WAITING_HUMAN
    conversation.save()
    base = f"/console/{conversation.public_id}"
    # the queue lists it and the transcript is escaped
    page = client.get(f"{base}/").content.decode()
    queue = client.get("/console/queue/").content.decode()
    assert str(conversation.public_id) in queue
    assert HOSTILE not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    # reply before taking over is refused and stores nothing
    refused = client.post(f"{base}/reply/", {"text": "hello"}, headers={"Accept": "application/json"})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "not_taken_over"
    assert not Message.objects.filter(role="staff").exists()
    # take over, reply, hand back, close
    assert client.post(f"{base}/takeover/").status_code == 302
    ok = client.post(
        f"{base}/reply/", {"text": "On it.", "client_message_id": "s1"}, headers={"Accept": "application/json"}
    )
    assert ok.json() == {"ok": True}
    client.post(f"{base}/reply/", {"text": "On it.", "client_message_id": "s1"}, headers={"Accept": "application/json"})
    conversation.refresh_from_db()
    assert (conversation.status, conversation.assigned_to) == (ConversationStatus.HUMAN, staff)
    assert list(conversation.messages.filter(role="staff").values_list("text", flat=True)) == ["On it."]
    client.post(f"{base}/hand-back/")
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.OPEN
    assert conversation.assigned_to is None
    client.post(f"{base}/close/", {"resolution_code": "resolved"})
    conversation.refresh_from_db()
    assert (conversation.status, conversation.resolution_code) == (ConversationStatus.CLOSED, "resolved")
    assert list(ConversationEvent.objects.filter(conversation=conversation).values_list("action", flat=True)) == [
        "started",
        "taken_over",
        "handed_back",
        "closed",
    ]


def test_second_staff_member_cannot_reply_in_a_taken_conversation(turns):
    first, _ = _staff("conversations.takeover_conversation")
    _, second = _staff("conversations.takeover_conversation")
    conversation = services.conversation_start()
    services.conversation_takeover(conversation=conversation, staff=first)
    response = second.post(
        f"/console/{conversation.public_id}/reply/", {"text": "me too"}, headers={"Accept": "application/json"}
    )
    assert response.json()["error"]["code"] == "already_taken"
    assert not Message.objects.filter(role="staff").exists()


def test_close_with_an_unknown_resolution_code_changes_nothing(turns):
    _, client = _staff("conversations.takeover_conversation")
    conversation = services.conversation_start()
    client.post(f"/console/{conversation.public_id}/close/", {"resolution_code": "made-up"})
    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.OPEN
    assert not ConversationEvent.objects.filter(action="closed").exists()


def test_support_agents_work_the_console_and_operators_do_not():
    # given a support agent and an operator (roles from apps/accounts/roles.py)
    agent, operator = make_staff(SUPPORT_AGENT), make_staff(OPERATOR)
    # when each opens the console
    # then the agent works there and the operator is refused
    assert _signed_in(agent).get("/console/").status_code == 200
    assert _signed_in(operator).get("/console/").status_code == 403


def test_the_sidebar_shows_this_customers_orders_tickets_refunds_and_earlier_chats_only():
    # given a customer with an order, a refund request, a ticket and an earlier conversation
    from tests.support.conftest import make_customer as make_shopper

    customer, stranger = make_shopper(), make_shopper()
    order = make_order(customer)
    strangers_order = make_order(stranger)
    refund_approval_request(
        order=order, customer=customer, amount=order.items.first().unit_price, reason="broken", items=[]
    )
    Ticket.objects.create(
        subject="Where is my parcel",
        description="d",
        customer=customer,
        created_by_label="agent",
        sla_due_at=order.placed_at,
    )
    earlier = services.conversation_start(customer=customer)
    conversation = _waiting(customer)
    services.conversation_start(customer=stranger)
    # when an agent opens the conversation
    page = _signed_in(make_staff(SUPPORT_AGENT)).get(f"/console/{conversation.public_id}/").content.decode()
    # then the sidebar lists what is theirs and nothing of the stranger's
    assert order.number in page
    assert strangers_order.number not in page
    assert "R-" in page
    assert "Where is my parcel" in page
    assert f"/console/{earlier.public_id}/" in page


def test_a_guest_sidebar_shows_the_verified_order_only():
    from tests.support.conftest import make_customer as make_shopper

    customer = make_shopper()
    verified, other = make_order(customer), make_order(customer)
    conversation = services.conversation_start(verified_order=verified)
    from apps.support.selectors import customer_sidebar

    sidebar = customer_sidebar(conversation=conversation)
    assert [o.number for o in sidebar.orders] == [verified.number]
    assert other.number not in [o.number for o in sidebar.orders]
    assert customer_sidebar(conversation=services.conversation_start()).orders == []


def test_an_internal_note_is_stored_for_staff_and_never_reaches_the_customer(turns):
    # given a conversation the customer reads through the transcript API and the chat socket's selectors
    agent = make_staff(SUPPORT_AGENT)
    conversation = _waiting()
    services.message_accept_customer(conversation=conversation, text="Help", client_message_id="c1")
    # when an agent adds a note in the console
    response = _signed_in(agent).post(f"/console/{conversation.public_id}/notes/", {"text": "VIP, be generous"})
    # then it is stored as a note, shown to staff, audited
    assert response.status_code == 302
    note = InternalNote.objects.get()
    assert (note.conversation, note.author, note.text) == (conversation, agent, "VIP, be generous")
    assert "VIP, be generous" in _signed_in(agent).get(f"/console/{conversation.public_id}/").content.decode()
    assert SupportAuditEvent.objects.filter(subject_type="internal_note", action="created").count() == 1
    # and it is not a message: nothing the customer's socket or API read contains it
    assert not Message.objects.filter(text__contains="VIP").exists()
    texts = [m.text for m in conversation_selectors.messages_after(conversation=conversation, seq=0)]
    # (the second message is the waiting-for-a-person acknowledgement the customer gets at once)
    assert texts[0] == "Help"
    assert len(texts) == 2
    assert [t for t in texts if "VIP" in t] == []


def test_an_empty_note_or_one_without_permission_stores_nothing():
    conversation = _waiting()
    with pytest.raises(ApplicationError) as empty:
        internal_note_create(conversation=conversation, author=make_staff(SUPPORT_AGENT), text="   ")
    assert empty.value.code == "empty_note"
    outsider, _client = _staff("conversations.takeover_conversation")  # console, but not support.add_internalnote
    with pytest.raises(ApplicationError) as refused:
        internal_note_create(conversation=conversation, author=outsider, text="hi")
    assert refused.value.code == "not_allowed"
    assert not InternalNote.objects.exists()


def test_saved_replies_are_offered_in_the_reply_box_of_the_holder(turns):
    SavedReply.objects.create(title="Refund timing", text="Refunds reach your card in 3-5 days.")
    SavedReply.objects.create(title="Retired", text="old", is_active=False)
    agent = make_staff(SUPPORT_AGENT)
    conversation = _waiting()
    services.conversation_takeover(conversation=conversation, staff=agent)
    page = _signed_in(agent).get(f"/console/{conversation.public_id}/").content.decode()
    assert 'data-text="Refunds reach your card in 3-5 days."' in page
    assert "Retired" not in page


def test_assign_to_me_then_the_mine_and_unassigned_filters():
    # given two waiting conversations and an agent
    agent = make_staff(SUPPORT_AGENT)
    first, second = _waiting(), _waiting()
    client = _signed_in(agent)
    # when the agent assigns the first to themself
    client.post(f"/console/{first.public_id}/assign/", {"assignee": "me"})
    # then it is theirs, still waiting, and audited
    first.refresh_from_db()
    assert (first.assigned_to, first.status) == (agent, ConversationStatus.WAITING_HUMAN)
    assert ConversationEvent.objects.filter(conversation=first, action="assigned").count() == 1
    mine = client.get("/console/queue/?scope=mine").content.decode()
    unassigned = client.get("/console/queue/?scope=unassigned").content.decode()
    every = client.get("/console/queue/?scope=all").content.decode()
    assert str(first.public_id) in mine
    assert str(second.public_id) not in mine
    assert str(second.public_id) in unassigned
    assert str(first.public_id) not in unassigned
    assert str(first.public_id) in every
    assert str(second.public_id) in every


def test_an_agent_cannot_assign_to_someone_else_or_take_a_colleagues_conversation():
    agent, colleague = make_staff(SUPPORT_AGENT), make_staff(SUPPORT_AGENT)
    conversation = _waiting()
    with pytest.raises(ApplicationError) as to_other:
        console_assign(conversation=conversation, actor=agent, assignee_id=colleague.pk)
    assert to_other.value.code == "not_allowed"
    console_assign(conversation=conversation, actor=colleague, assignee_id=colleague.pk)
    with pytest.raises(ApplicationError) as steal:
        console_assign(conversation=conversation, actor=agent, assignee_id=agent.pk)
    assert steal.value.code == "not_allowed"
    conversation.refresh_from_db()
    assert conversation.assigned_to == colleague
    assert ConversationEvent.objects.filter(action="assigned").count() == 1


def test_a_lead_reassigns_a_taken_conversation_and_the_escalation_follows(turns):
    # given an escalated conversation an agent took over
    lead, agent, colleague = make_staff(SUPPORT_LEAD), make_staff(SUPPORT_AGENT), make_staff(SUPPORT_AGENT)
    conversation = services.conversation_start(customer=make_customer())
    escalation = escalation_create(conversation=conversation, reason_code="customer_request")
    escalation_take_over(escalation=escalation, staff_user=agent)
    # when the lead assigns it to a colleague
    _signed_in(lead).post(f"/console/{conversation.public_id}/assign/", {"assignee": str(colleague.pk)})
    # then the colleague holds it (and may reply), the agent no longer
    conversation.refresh_from_db()
    escalation.refresh_from_db()
    assert (conversation.assigned_to, conversation.status) == (colleague, ConversationStatus.HUMAN)
    assert (escalation.taken_by, escalation.status) == (colleague, EscalationStatus.TAKEN)
    services.message_create_staff(conversation=conversation, staff=colleague, text="Hi, I'll take it from here.")
    with pytest.raises(ApplicationError):
        services.message_create_staff(conversation=conversation, staff=agent, text="me")
    assert SupportAuditEvent.objects.filter(subject_type="escalation", action="reassigned").count() == 1


def test_a_held_conversation_cannot_be_left_unassigned_nor_assigned_to_a_non_staff_user(turns):
    lead = make_staff(SUPPORT_LEAD)
    conversation = _waiting()
    services.conversation_takeover(conversation=conversation, staff=lead)
    with pytest.raises(ApplicationError) as nobody:
        console_assign(conversation=conversation, actor=lead, assignee_id=None)
    assert nobody.value.code == "holder_required"
    with pytest.raises(ApplicationError) as customer:
        console_assign(conversation=conversation, actor=lead, assignee_id=make_user().pk)
    assert customer.value.code == "invalid_assignee"
    conversation.refresh_from_db()
    assert conversation.assigned_to == lead
    assert not ConversationEvent.objects.filter(action="assigned").exists()
    assert Escalation.objects.count() == 0
