"""The staff console's own writes: internal notes and assignment.

Notes are `InternalNote` rows, not messages: nothing that delivers to the customer (the chat
socket, the transcript API, the agent's context) reads them. Assignment says who works a
conversation; whoever holds a taken-over conversation is the one who may reply.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.conversations import services as conversation_services
from apps.conversations.models import Conversation, ConversationStatus
from apps.core.errors import ApplicationError, PermissionDenied
from apps.support.models import ACTIVE_ESCALATION_STATUSES, Escalation, EscalationStatus, InternalNote
from apps.support.services.audit import audit_record

CONSOLE_PERMISSION = "conversations.takeover_conversation"
ASSIGN_OTHERS_PERMISSION = "support.assign_escalation"
MAX_NOTE_CHARS = 4000


def _may_work_console(user: Any) -> bool:
    return bool(user is not None and user.is_active and user.is_staff and user.has_perm(CONSOLE_PERMISSION))


@transaction.atomic
def internal_note_create(*, conversation: Conversation, author: Any, text: str) -> InternalNote:
    """A note for colleagues on this conversation. The customer never receives it."""
    if not _may_work_console(author) or not author.has_perm("support.add_internalnote"):
        raise PermissionDenied("You may not add notes.", code="not_allowed")
    text = (text or "").strip()
    if not text:
        raise ApplicationError("The note is empty.", code="empty_note")
    if len(text) > MAX_NOTE_CHARS:
        raise ApplicationError(f"A note is at most {MAX_NOTE_CHARS} characters.", code="note_too_long")
    note = InternalNote(conversation=conversation, author=author, text=text)
    note.full_clean()
    note.save()
    audit_record(
        subject=note,
        subject_type="internal_note",
        action="created",
        actor=author,
        data={"conversation": str(conversation.public_id)},
    )
    return note


def _assignee(assignee_id: int | None) -> Any:
    if assignee_id is None:
        return None
    user = get_user_model().objects.filter(pk=assignee_id, is_active=True, is_staff=True).first()
    if user is None or not user.has_perm(CONSOLE_PERMISSION):
        raise ApplicationError("That person does not work the console.", code="invalid_assignee")
    return user


@transaction.atomic
def console_assign(*, conversation: Conversation, actor: Any, assignee_id: int | None) -> Conversation:
    """Assign a conversation to `assignee_id` (None: unassign).

    Anyone who works the console may take an unassigned conversation or drop their own; giving
    one to someone else, or taking one from someone else, needs `support.assign_escalation`
    (leads). A taken-over conversation moves to its new holder, escalation included.
    """
    if not _may_work_console(actor):
        raise PermissionDenied("You may not work the console.", code="not_allowed")
    assignee = _assignee(assignee_id)
    # Judge against the row as it is now (locked), not the caller's possibly stale copy.
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    current = conversation.assigned_to_id
    only_self = (assignee is None or assignee.pk == actor.pk) and current in (None, actor.pk)
    if not only_self and not actor.has_perm(ASSIGN_OTHERS_PERMISSION):
        raise PermissionDenied("Only a lead may assign conversations to others.", code="not_allowed")
    conversation = conversation_services.conversation_assign(conversation=conversation, assignee=assignee, actor=actor)
    if conversation.status == ConversationStatus.HUMAN and assignee is not None:
        escalation = (
            Escalation.objects.select_for_update()
            .filter(conversation=conversation, status__in=ACTIVE_ESCALATION_STATUSES)
            .first()
        )
        if (
            escalation is not None
            and escalation.status == EscalationStatus.TAKEN
            and escalation.taken_by_id != assignee.pk
        ):
            old = escalation.taken_by_id
            escalation.taken_by = assignee
            escalation.taken_at = timezone.now()
            escalation.save(update_fields=["taken_by", "taken_at", "updated_at"])
            audit_record(
                subject=escalation,
                subject_type="escalation",
                action="reassigned",
                actor=actor,
                from_state=escalation.status,
                to_state=escalation.status,
                data={"from_user": old, "to_user": assignee.pk},
            )
    return conversation
