"""Refund approval requests: raised by the agent (or staff), decided by approvers, executed by a worker.

- `requests`: raising one (its amount, items, linked return and the policy verdict the approvers see);
- `decisions`: approvers deciding it, and queueing its execution;
- `execution`: paying it exactly once (`apps.commerce.services.refund_execute`), after its return arrives;
- `sweeps`: the beat job's escalation of overdue requests and re-queueing of stuck ones.
"""

from apps.support.services.approvals.decisions import refund_approval_decide
from apps.support.services.approvals.execution import refund_approval_execute
from apps.support.services.approvals.requests import refund_approval_refundable_amount, refund_approval_request
from apps.support.services.approvals.sweeps import refund_approvals_escalate_overdue, refund_approvals_requeue_stuck

__all__ = [
    "refund_approval_decide",
    "refund_approval_execute",
    "refund_approval_refundable_amount",
    "refund_approval_request",
    "refund_approvals_escalate_overdue",
    "refund_approvals_requeue_stuck",
]
