"""While a customer waits for a person: acknowledge each message at once, and outside business hours take an
email address for the follow-up (a support ticket the staff see).

`services.waiting_acknowledge` (called by `services.message_accept_customer` for every customer message
the bot does not answer because the conversation waits for staff) stores, from `waiting_reply`, a system
message (`data.event == "waiting"`) saying where the customer is in the queue and how long the wait
should be, or, outside `CHAT_BUSINESS_HOURS`, that the team is away, when it is back, and that an email
address lets us follow up. A message that carries an email address out of hours opens one ticket (once
per conversation).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from apps.conversations.models import Conversation, ConversationEvent, ConversationStatus, Message, MessageRole
from apps.core.errors import ApplicationError

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
FOLLOWUP_EVENT = "followup_email"


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 = Monday
    start: dt.time
    end: dt.time  # 24:00 is written as time.max


def _day_range(text: str) -> frozenset[int]:
    text = text.strip().lower()
    if "-" in text:
        first, last = (DAYS.index(p.strip()[:3]) for p in text.split("-", 1))
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        return frozenset(span)
    return frozenset(DAYS.index(d.strip()[:3]) for d in text.split("+"))


def _time(text: str) -> dt.time:
    if text.strip() == "24:00":
        return dt.time.max
    hours, minutes = text.strip().split(":")
    return dt.time(int(hours), int(minutes))


@lru_cache(maxsize=8)
def parse_business_hours(spec: str) -> tuple[Window, ...]:
    """`"mon-fri 09:00-17:30, sat 10:00-14:00"` -> windows. An empty spec means always open."""
    windows = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        try:
            days, hours = part.rsplit(" ", 1)
            start, end = hours.split("-")
            windows.append(Window(days=_day_range(days), start=_time(start), end=_time(end)))
        except (ValueError, IndexError) as exc:
            raise ValueError(f"CHAT_BUSINESS_HOURS: cannot read {part!r} (like 'mon-fri 09:00-17:00')") from exc
    return tuple(windows)


def _local(now: dt.datetime) -> dt.datetime:
    return now.astimezone(ZoneInfo(settings.CHAT_BUSINESS_TIMEZONE))


def is_open(now: dt.datetime | None = None) -> bool:
    windows = parse_business_hours(settings.CHAT_BUSINESS_HOURS)
    if not windows:
        return True
    local = _local(now or timezone.now())
    return any(local.weekday() in w.days and w.start <= local.time() < w.end for w in windows)


def next_opening(now: dt.datetime | None = None) -> dt.datetime | None:
    """When the team is next in (local time), or None when always open."""
    windows = parse_business_hours(settings.CHAT_BUSINESS_HOURS)
    if not windows:
        return None
    local = _local(now or timezone.now())
    for offset in range(0, 8):
        day = (local + dt.timedelta(days=offset)).date()
        starts = sorted(w.start for w in windows if day.weekday() in w.days)
        for start in starts:
            candidate = dt.datetime.combine(day, start, tzinfo=local.tzinfo)
            if candidate > local:
                return candidate
    return None


def _waiting_since_expression() -> Any:
    """When each conversation began to wait: its live escalation's start, else its last status change."""
    from apps.support.models import ACTIVE_ESCALATION_STATUSES, Escalation

    started = (
        Escalation.objects.filter(conversation=OuterRef("pk"), status__in=ACTIVE_ESCALATION_STATUSES)
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    return Coalesce(Subquery(started), F("updated_at"))


def queue_position(conversation: Conversation) -> int:
    """1 for the conversation that has waited longest for a person (ties by id)."""
    waiting = Conversation.objects.filter(status=ConversationStatus.WAITING_HUMAN).annotate(
        since=_waiting_since_expression()
    )
    mine = waiting.filter(pk=conversation.pk).values_list("since", flat=True).first()
    if mine is None:
        mine = conversation.updated_at
    ahead = waiting.exclude(pk=conversation.pk).filter(Q(since__lt=mine) | Q(since=mine, pk__lt=conversation.pk))
    return ahead.count() + 1


def _hours_text() -> str:
    return settings.CHAT_BUSINESS_HOURS.replace("-", "–").replace(",", ";")


def _opening_text(opening: dt.datetime | None, now: dt.datetime) -> str:
    if opening is None:
        return ""
    local_now = _local(now)
    when = "today" if opening.date() == local_now.date() else DAY_NAMES[opening.weekday()]
    if opening.date() == (local_now + dt.timedelta(days=1)).date():
        when = "tomorrow"
    return f" We are back {when} at {opening:%H:%M} ({settings.CHAT_BUSINESS_TIMEZONE} time)."


def _find_email(text: str) -> str:
    for candidate in EMAIL_RE.findall(text or ""):
        try:
            validate_email(candidate)
        except ValidationError:
            continue
        return candidate.lower()
    return ""


def _followup_taken(conversation: Conversation) -> str:
    event = ConversationEvent.objects.filter(conversation=conversation, action=FOLLOWUP_EVENT).order_by("-id").first()
    return (event.data or {}).get("email", "") if event is not None else ""


def _open_followup_ticket(conversation: Conversation, message: Message, email: str) -> str:
    """A ticket for the team to email the customer back; returns its reference."""
    from apps.support.services.tickets import ticket_create

    recent = list(
        conversation.messages.filter(role=MessageRole.CUSTOMER).order_by("-seq").values_list("text", flat=True)[:5]
    )
    customer_lines = "\n".join(f"- {t[:500]}" for t in reversed(recent))
    ticket = ticket_create(
        subject="Follow up by email: customer waited outside business hours",
        description=(
            f"The customer asked for a person outside business hours and left {email} for the follow-up.\n"
            f"Conversation: {conversation.public_id}\n\nTheir latest messages (customer text, unverified):\n"
            f"{customer_lines}"
        ),
        category="other",
        customer=conversation.customer,
        conversation=conversation,
        created_by_label=f"customer:{conversation.customer_id}" if conversation.customer_id else "guest",
    )
    return ticket.reference


def waiting_reply(
    *, conversation: Conversation, message: Message, now: dt.datetime | None = None
) -> tuple[str, dict[str, Any]]:
    """The system's answer to a customer message while the conversation waits for a person: its text and data.

    Out of hours, an email address in `message` opens the follow-up ticket (once per conversation) first;
    `services.waiting_acknowledge` stores the answer.
    """
    now = now or timezone.now()
    if is_open(now):
        position = queue_position(conversation)
        minutes = max(1, position * settings.CHAT_WAIT_MINUTES_PER_CONVERSATION)
        ahead = "You are next in line" if position == 1 else f"You are number {position} in the queue"
        text = (
            f"Thanks, we have your message. {ahead}; the expected wait is about {minutes} minutes. "
            "A person from our team will reply here."
        )
        return text, {"event": "waiting", "open": True, "position": position, "wait_minutes": minutes}

    opening = next_opening(now)
    data: dict[str, Any] = {"event": "waiting", "open": False, "opens_at": opening.isoformat() if opening else None}
    taken = _followup_taken(conversation)
    email = _find_email(message.text)
    if email and not taken:
        try:
            reference = _open_followup_ticket(conversation, message, email)
        except ApplicationError:
            reference = ""
        ConversationEvent.objects.create(
            conversation=conversation, action=FOLLOWUP_EVENT, data={"email": email, "ticket": reference}
        )
        text = (
            f"Thank you. We will email you at {email} as soon as we are back"
            f"{f' (reference {reference})' if reference else ''}. You can also keep writing here."
        )
        data.update(followup_email=email, ticket=reference)
    elif taken:
        text = (
            f"Thanks, we have your message. Our team is away right now; we will email you at {taken} when we are "
            f"back.{_opening_text(opening, now)}"
        )
        data.update(followup_email=taken)
    else:
        text = (
            f"Thanks, we have your message. Our team is away right now (we answer {_hours_text()})."
            f"{_opening_text(opening, now)} Leave your email address here and we will reply by email."
        )
        data.update(asks_for_email=True)
    return text, data
