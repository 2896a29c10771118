"""Escalation to a human: pauses the bot for a conversation until staff hand it back or close it.

The bot is paused by the conversation's status (`waiting_human`, then `human`):
`message_accept_customer` does not queue a bot turn while `conversation.bot_paused`.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.conversations import events
from apps.conversations.models import Conversation, ConversationStatus
from apps.conversations.services import conversation_state_set
from apps.core.errors import ApplicationError, PermissionDenied
from apps.support.models import ACTIVE_ESCALATION_STATUSES, Escalation, EscalationReason, EscalationStatus
from apps.support.services.audit import audit_record
from apps.support.services.notify import notify_staff

SUBJECT = "escalation"
# Support agents work escalations (`change_escalation`); leads may also take over any conversation.
HANDLE_PERMISSIONS = ("support.change_escalation", "conversations.takeover_conversation")
ASSIGN_PERMISSION = "support.assign_escalation"
MAX_NOTE_CHARS = 2000


def _staff_name(user: Any) -> str:
    return user.first_name or user.get_username()


def _lock(escalation: Escalation) -> tuple[Escalation, Conversation]:
    locked = Escalation.objects.select_for_update().get(pk=escalation.pk)
    conversation = Conversation.objects.select_for_update().get(pk=locked.conversation_id)
    return locked, conversation


def _push(conversation: Conversation, escalation: Escalation, event: str, staff: Any = None, **extra: Any) -> None:
    # `status` and `agent` (who the customer is with) as in docs/chat-protocol.md.
    events.push_on_commit(
        conversation,
        "handoff",
        status=conversation.status,
        agent=_staff_name(staff) if staff is not None else "",
        escalation_id=escalation.pk,
        reason_code=escalation.reason_code,
        **extra,
    )
    notify_staff(
        event,
        escalation_id=escalation.pk,
        conversation=str(conversation.public_id),
        status=escalation.status,
        conversation_status=conversation.status,
        reason_code=escalation.reason_code,
    )


def escalation_create(*, conversation: Conversation, reason_code: str, note: str = "") -> Escalation:
    """Hand the conversation to staff and pause the bot. If one is already waiting or taken, return it."""
    if reason_code not in EscalationReason.values:
        raise ApplicationError(
            f"Unknown reason {reason_code!r}; use one of {', '.join(EscalationReason.values)}.", code="invalid_reason"
        )
    note = (note or "").strip()[:MAX_NOTE_CHARS]
    try:
        with transaction.atomic():
            locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
            if locked.status == ConversationStatus.CLOSED:
                raise ApplicationError("This conversation is closed.", code="conversation_closed")
            active = Escalation.objects.filter(conversation=locked, status__in=ACTIVE_ESCALATION_STATUSES).first()
            if active is not None:
                return active
            escalation = Escalation(conversation=locked, reason_code=reason_code, note=note)
            escalation.full_clean()
            escalation.save()
            from_status = locked.status
            if locked.status == ConversationStatus.OPEN:
                conversation_state_set(conversation=locked, status=ConversationStatus.WAITING_HUMAN)
            audit_record(
                subject=escalation,
                subject_type=SUBJECT,
                action="created",
                to_state=escalation.status,
                actor_label="agent",
                data={"reason_code": reason_code, "conversation_status": [from_status, locked.status]},
            )
            _push(locked, escalation, "escalation_created")
    except IntegrityError:
        # Two turns escalated the same conversation at once: the first one won.
        return Escalation.objects.get(conversation=conversation, status__in=ACTIVE_ESCALATION_STATUSES)
    conversation.status = locked.status
    return escalation


def _may_take_over(user: Any) -> bool:
    return (
        user is not None
        and user.is_active
        and user.is_staff
        and any(user.has_perm(perm) for perm in HANDLE_PERMISSIONS)
    )


def escalation_take_over(*, escalation: Escalation, staff_user: Any) -> Escalation:
    """A staff member takes the conversation: status human, assigned to them. The bot stays paused."""
    if not _may_take_over(staff_user):
        raise PermissionDenied("You may not take over conversations.", code="forbidden")
    with transaction.atomic():
        locked, conversation = _lock(escalation)
        if locked.status == EscalationStatus.TAKEN and locked.taken_by_id == staff_user.pk:
            return locked
        if locked.status != EscalationStatus.OPEN:
            raise ApplicationError(
                f"This escalation is {locked.get_status_display().lower()}.", code="escalation_not_open"
            )
        if conversation.status == ConversationStatus.CLOSED:
            raise ApplicationError("This conversation is closed.", code="conversation_closed")
        locked.status = EscalationStatus.TAKEN
        locked.taken_by = staff_user
        locked.taken_at = timezone.now()
        locked.save(update_fields=["status", "taken_by", "taken_at", "updated_at"])
        conversation_state_set(conversation=conversation, status=ConversationStatus.HUMAN, assigned_to=staff_user)
        audit_record(
            subject=locked,
            subject_type=SUBJECT,
            action="taken_over",
            from_state=EscalationStatus.OPEN,
            to_state=locked.status,
            actor=staff_user,
        )
        _push(conversation, locked, "escalation_taken", staff=staff_user)
    return locked


def _check_holder(escalation: Escalation, staff_user: Any) -> None:
    if not _may_take_over(staff_user):
        raise PermissionDenied("You may not handle conversations.", code="forbidden")
    holder = escalation.taken_by_id
    if holder is not None and holder != staff_user.pk and not staff_user.has_perm(ASSIGN_PERMISSION):
        raise PermissionDenied("Another staff member has this conversation.", code="not_yours")


def _check_active_holder(escalation: Escalation, staff_user: Any) -> None:
    """Hand-back and resolve: by its holder (or an assigner), and only while it is still active."""
    _check_holder(escalation, staff_user)
    if escalation.status not in ACTIVE_ESCALATION_STATUSES:
        raise ApplicationError(
            f"This escalation is {escalation.get_status_display().lower()}.", code="escalation_not_active"
        )


def escalation_hand_back(*, escalation: Escalation, staff_user: Any) -> Escalation:
    """Give the conversation back to the bot (status open, unassigned)."""
    with transaction.atomic():
        locked, conversation = _lock(escalation)
        _check_active_holder(locked, staff_user)
        if conversation.status == ConversationStatus.CLOSED:
            raise ApplicationError("This conversation is closed.", code="conversation_closed")
        from_state = locked.status
        locked.status = EscalationStatus.HANDED_BACK
        locked.handed_back_at = timezone.now()
        locked.save(update_fields=["status", "handed_back_at", "updated_at"])
        conversation_state_set(conversation=conversation, status=ConversationStatus.OPEN, assigned_to=None)
        audit_record(
            subject=locked,
            subject_type=SUBJECT,
            action="handed_back",
            from_state=from_state,
            to_state=locked.status,
            actor=staff_user,
        )
        _push(conversation, locked, "escalation_handed_back", staff=staff_user)
    return locked


def escalation_resolve(*, escalation: Escalation, staff_user: Any, resolution_code: str) -> Escalation:
    """Close the conversation with a resolution code; the escalation is resolved."""
    resolution_code = (resolution_code or "").strip()
    if not resolution_code or len(resolution_code) > 40:
        raise ApplicationError("A resolution code (up to 40 characters) is required.", code="resolution_required")
    with transaction.atomic():
        locked, conversation = _lock(escalation)
        _check_active_holder(locked, staff_user)
        now = timezone.now()
        from_state = locked.status
        locked.status = EscalationStatus.RESOLVED
        locked.resolved_at = now
        locked.resolution_code = resolution_code
        locked.save(update_fields=["status", "resolved_at", "resolution_code", "updated_at"])
        conversation_state_set(
            conversation=conversation, status=ConversationStatus.CLOSED, resolution_code=resolution_code
        )
        audit_record(
            subject=locked,
            subject_type=SUBJECT,
            action="resolved",
            from_state=from_state,
            to_state=locked.status,
            actor=staff_user,
            data={"resolution_code": resolution_code},
        )
        _push(conversation, locked, "escalation_resolved", staff=staff_user, resolution_code=resolution_code)
    return locked
