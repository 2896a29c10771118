"""Telling people: the customer's chat and the staff console. Always after commit.

(The leads' overdue email is the sweep's: `apps.support.services.approvals.sweeps`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings

from apps.conversations import events
from apps.conversations.models import Conversation, ConversationStatus, MessageRole

if TYPE_CHECKING:
    from apps.support.models import RefundApproval

OUTCOME_AGENT = "refunds"


def notify_staff(event_type: str, **payload: Any) -> None:
    events.push_staff_on_commit(event_type, **payload)


def _outcome_conversation(approval: RefundApproval) -> Conversation | None:
    """The chat where the customer will see the outcome: the request's own, or their latest open one."""
    linked = approval.conversation
    if linked is not None and linked.status != ConversationStatus.CLOSED:
        return linked
    latest = (
        Conversation.objects.filter(customer=approval.customer)
        .exclude(status=ConversationStatus.CLOSED)
        .order_by("-last_message_at", "-id")
        .first()
    )
    return latest or linked


def outcome_text(approval: RefundApproval) -> str:
    from apps.support.models import ApprovalStatus

    money = f"{approval.amount} {approval.currency}"
    number = approval.order.number
    returned = approval.return_request
    days = settings.SHOP_REFUND_PROCESSING_DAYS
    if approval.status == ApprovalStatus.EXECUTED and returned is not None:
        return (
            f"Your return ({returned.label_reference}) for order {number} has arrived and your refund of {money} "
            f"has been issued to your original payment method. It can take up to {days} days to show on your "
            "statement."
        )
    if approval.status == ApprovalStatus.EXECUTED:
        return (
            f"Your refund of {money} for order {number} has been approved and issued to your original payment "
            f"method. It can take up to {days} days to show on your statement."
        )
    if approval.status == ApprovalStatus.AWAITING_RETURN and returned is not None:
        return (
            f"Your refund of {money} for order {number} has been approved. We will issue it to your original "
            f"payment method as soon as your return ({returned.label_reference}) reaches us: please send the items "
            "back with the prepaid label. We will let you know here when the refund is issued."
        )
    if approval.status == ApprovalStatus.CANCELLED and returned is not None:
        return (
            f"Your return ({returned.label_reference}) for order {number} was "
            f"{returned.get_status_display().lower()}, so the refund of {money} approved for it was not issued. "
            "If you still want to return the items, reply here and we will help."
        )
    if approval.status == ApprovalStatus.REJECTED:
        decision = approval.decisions.filter(decision="reject").last()
        reason = f" Reason: {decision.reason}" if decision else ""
        return f"We reviewed your refund request of {money} for order {number} and could not approve it.{reason}"
    ticket = approval.follow_up_ticket
    follow = f" (reference {ticket.reference})" if ticket is not None else ""
    return (
        f"Your refund of {money} for order {number} was approved, but we could not process it automatically. "
        f"A member of our team will follow up{follow}."
    )


def notify_customer_of_outcome(*, approval: RefundApproval) -> None:
    """Store the outcome in the customer's chat (seen on their next visit) and push it live after commit."""
    from apps.conversations.services import message_create

    conversation = _outcome_conversation(approval)
    if conversation is None:
        return
    text = outcome_text(approval)
    outcome = {
        "approval_id": approval.pk,
        "status": approval.status,
        "order": approval.order.number,
        "amount": str(approval.amount),
        "currency": approval.currency,
    }
    message_create(
        conversation=conversation,
        role=MessageRole.SYSTEM,
        text=text,
        agent=OUTCOME_AGENT,
        data={"kind": "approval_outcome", **outcome},
    )
    events.push_on_commit(conversation, "approval_outcome", outcome={**outcome, "text": text})
