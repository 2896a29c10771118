"""Telling people: the customer's chat, the staff console, the leads' inbox. Always after commit."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from apps.accounts.roles import SUPPORT_LEAD
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
    if approval.status == ApprovalStatus.EXECUTED:
        return (
            f"Your refund of {money} for order {number} has been approved and issued to your original payment "
            f"method. It can take up to {settings.SHOP_REFUND_PROCESSING_DAYS} days to show on your statement."
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


def _lead_emails() -> list[str]:
    users = get_user_model().objects.filter(groups__name=SUPPORT_LEAD, is_active=True).exclude(email="")
    return sorted(set(users.values_list("email", flat=True)))


def notify_leads_of_overdue(*, approvals: list[RefundApproval], now: datetime) -> None:
    recipients = _lead_emails()
    if not recipients:
        return
    base = settings.SUPPORT_SITE_URL.rstrip("/")
    lines = []
    for approval in approvals:
        hours = (now - approval.created_at).total_seconds() / 3600
        url = base + reverse("admin:support_refundapproval_change", args=[approval.pk])
        lines.append(
            f"- {approval.reference}: {approval.amount} {approval.currency} on order {approval.order.number}, "
            f"waiting {hours:.0f} h ({approval.decisions.count()}/{approval.required_approvals} approvals)\n  {url}"
        )
    hours_limit = settings.REFUND_APPROVAL_ESCALATE_AFTER_HOURS
    subject = f"[{settings.SHOP_NAME}] {len(approvals)} refund request(s) waiting over {hours_limit} h"
    body = (
        "These refund requests have not been decided in time and are escalated to you:\n\n"
        + "\n".join(lines)
        + f"\n\nThe queue: {base}{reverse('admin:support_refundapproval_changelist')}\n"
    )
    # Sent by a task with retries: a mail server hiccup must not lose the escalation notice.
    from apps.support.tasks import send_staff_email

    transaction.on_commit(lambda: send_staff_email.delay(subject, body, recipients))
