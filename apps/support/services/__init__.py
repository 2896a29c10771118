"""Writes of the support desk. Import from here: `from apps.support.services import ticket_create`."""

from apps.support.services.approvals import (
    refund_approval_decide,
    refund_approval_execute,
    refund_approval_refundable_amount,
    refund_approval_request,
    refund_approvals_escalate_overdue,
    refund_approvals_requeue_stuck,
)
from apps.support.services.audit import audit_record
from apps.support.services.chat import chat_close, chat_hand_back, chat_take_over
from apps.support.services.escalations import (
    escalation_create,
    escalation_hand_back,
    escalation_resolve,
    escalation_take_over,
)
from apps.support.services.tickets import ticket_assign, ticket_create, ticket_set_priority, ticket_set_status

__all__ = [
    "audit_record",
    "chat_close",
    "chat_hand_back",
    "chat_take_over",
    "escalation_create",
    "escalation_hand_back",
    "escalation_resolve",
    "escalation_take_over",
    "refund_approval_decide",
    "refund_approval_execute",
    "refund_approval_refundable_amount",
    "refund_approval_request",
    "refund_approvals_escalate_overdue",
    "refund_approvals_requeue_stuck",
    "ticket_assign",
    "ticket_create",
    "ticket_set_priority",
    "ticket_set_status",
]
