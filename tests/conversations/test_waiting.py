"""Waiting for a person: every message acknowledged at once; outside business hours an email for a ticket."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from apps.conversations import services, waiting
from apps.conversations.models import ConversationEvent, ConversationStatus, Message, MessageRole
from tests.conversations.conftest import make_customer

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TUESDAY_NOON = dt.datetime(2026, 12, 1, 12, 0, tzinfo=LONDON)
TUESDAY_NIGHT = dt.datetime(2026, 12, 1, 22, 30, tzinfo=LONDON)
FRIDAY_EVENING = dt.datetime(2026, 12, 4, 18, 0, tzinfo=LONDON)


@pytest.fixture
def hours(settings):
    settings.CHAT_BUSINESS_HOURS = "mon-fri 09:00-17:00, sat 10:00-14:00"
    settings.CHAT_BUSINESS_TIMEZONE = "Europe/London"
    settings.CHAT_WAIT_MINUTES_PER_CONVERSATION = 4


def _waiting(n: int = 1) -> list:
    conversations = []
    for _ in range(n):
        conversation = services.conversation_start(customer=make_customer())
        conversation.status = ConversationStatus.WAITING_HUMAN
        conversation.save()
        conversations.append(conversation)
    return conversations


def test_business_hours_parse_days_ranges_and_an_empty_spec():
    assert waiting.parse_business_hours("") == ()
    windows = waiting.parse_business_hours("mon-fri 09:00-17:30, sat 10:00-14:00, sun 00:00-24:00")
    assert [sorted(w.days) for w in windows] == [[0, 1, 2, 3, 4], [5], [6]]
    assert (windows[0].start, windows[0].end) == (dt.time(9), dt.time(17, 30))
    assert windows[2].end == dt.time.max
    with pytest.raises(ValueError, match="CHAT_BUSINESS_HOURS"):
        waiting.parse_business_hours("weekdays nine to five")


def test_open_and_next_opening_follow_the_configured_zone(hours):
    assert waiting.is_open(TUESDAY_NOON) is True
    assert waiting.is_open(TUESDAY_NIGHT) is False
    assert waiting.is_open(TUESDAY_NOON.astimezone(dt.UTC)) is True
    assert waiting.next_opening(TUESDAY_NIGHT) == dt.datetime(2026, 12, 2, 9, 0, tzinfo=LONDON)
    assert waiting.next_opening(FRIDAY_EVENING) == dt.datetime(2026, 12, 5, 10, 0, tzinfo=LONDON)


def test_in_hours_each_message_gets_the_queue_position_and_expected_wait(hours, turns):
    # given two conversations already waiting before this one
    _waiting(2)
    [conversation] = _waiting(1)
    message = services.message_create(conversation=conversation, role=MessageRole.CUSTOMER, text="hello?")
    # when the system acknowledges the customer's message during business hours
    ack = services.waiting_acknowledge(conversation=conversation, message=message, now=TUESDAY_NOON)
    # then it says where they are and how long it should take
    assert ack.role == MessageRole.SYSTEM
    assert ack.text == (
        "Thanks, we have your message. You are number 3 in the queue; the expected wait is about 12 minutes. "
        "A person from our team will reply here."
    )
    assert ack.data == {"event": "waiting", "open": True, "position": 3, "wait_minutes": 12}


def test_a_customer_message_while_waiting_is_acknowledged_and_not_sent_to_the_bot(turns):
    # given a conversation waiting for staff (test settings: always within business hours)
    [conversation] = _waiting(1)
    # when the customer writes
    _, created = services.message_accept_customer(conversation=conversation, text="anyone?", client_message_id="c1")
    # then the acknowledgement follows at once and the bot is not asked
    assert created is True
    assert turns == []
    assert list(conversation.messages.order_by("seq").values_list("role", "text")) == [
        ("customer", "anyone?"),
        (
            "system",
            "Thanks, we have your message. You are next in line; the expected wait is about 4 minutes. "
            "A person from our team will reply here.",
        ),
    ]


def test_out_of_hours_the_customer_is_told_and_asked_for_an_email(hours, turns):
    [conversation] = _waiting(1)
    message = services.message_create(conversation=conversation, role=MessageRole.CUSTOMER, text="hello?")
    ack = services.waiting_acknowledge(conversation=conversation, message=message, now=TUESDAY_NIGHT)
    assert ack.text == (
        "Thanks, we have your message. Our team is away right now (we answer mon–fri 09:00–17:00; sat 10:00–14:00). "
        "We are back tomorrow at 09:00 (Europe/London time). Leave your email address here and we will reply by email."
    )
    assert ack.data["open"] is False
    assert ack.data["asks_for_email"] is True
    assert ConversationEvent.objects.filter(action="followup_email").count() == 0


def test_out_of_hours_an_email_address_opens_one_ticket_for_the_follow_up(hours, turns):
    from apps.support.models import Ticket

    # given a waiting conversation out of hours
    [conversation] = _waiting(1)
    first = services.message_create(conversation=conversation, role=MessageRole.CUSTOMER, text="my parcel is lost")
    services.waiting_acknowledge(conversation=conversation, message=first, now=TUESDAY_NIGHT)
    # when the customer leaves an email address
    second = services.message_create(
        conversation=conversation, role=MessageRole.CUSTOMER, text="sure, it's Ada.L@example.com thanks"
    )
    ack = services.waiting_acknowledge(conversation=conversation, message=second, now=TUESDAY_NIGHT)
    # then a ticket the staff see holds the address and the customer's words, and the customer is told
    ticket = Ticket.objects.get()
    assert ticket.conversation_id == conversation.pk
    assert ticket.customer_id == conversation.customer_id
    assert "ada.l@example.com" in ticket.description
    assert "- my parcel is lost" in ticket.description
    assert ack.text == (
        f"Thank you. We will email you at ada.l@example.com as soon as we are back (reference {ticket.reference}). "
        "You can also keep writing here."
    )
    # and a later message does not open a second ticket
    third = services.message_create(conversation=conversation, role=MessageRole.CUSTOMER, text="also: a@b.example")
    later = services.waiting_acknowledge(conversation=conversation, message=third, now=TUESDAY_NIGHT)
    assert Ticket.objects.count() == 1
    assert later.data["followup_email"] == "ada.l@example.com"
    assert Message.objects.filter(conversation=conversation, data__event="waiting").count() == 3


def test_a_conversation_with_a_person_gets_no_acknowledgement(turns):
    [conversation] = _waiting(1)
    conversation.status = ConversationStatus.HUMAN
    conversation.save()
    services.message_accept_customer(conversation=conversation, text="thanks", client_message_id="c1")
    assert list(conversation.messages.values_list("role", flat=True)) == ["customer"]
