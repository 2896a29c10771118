"""The support desk: refund approval requests, tickets, escalations to a human, and their audit trail.

Rows change only through `apps.support.services`, which check who may act,
validate the transition and write a `SupportAuditEvent` for every change.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel

MONEY = {"max_digits": 12, "decimal_places": 2}


def _new_idempotency_key() -> str:
    return f"approval:{uuid.uuid4().hex}"


# --- refund approvals ---------------------------------------------------------------------------


class ApprovalStatus(models.TextChoices):
    # Waiting for (more) approvers. A request above the threshold stays here after the first approval.
    PENDING = "pending", "Pending review"
    # Every required approval is in; the execution task is queued (or running).
    APPROVED = "approved", "Approved, refund queued"
    # Approved for a return that has not reached the warehouse: refunded when it is received.
    AWAITING_RETURN = "awaiting_return", "Approved, refund when the return arrives"
    EXECUTED = "executed", "Refunded"
    # The commerce service refused the refund (e.g. nothing left to refund), or execution kept
    # failing (REFUND_APPROVAL_MAX_EXECUTION_ATTEMPTS); a ticket follows up.
    FAILED = "failed", "Refund failed"
    REJECTED = "rejected", "Rejected"
    # The return it was approved for was withdrawn or rejected: no goods back, no money out.
    CANCELLED = "cancelled", "Cancelled (return not completed)"


OPEN_APPROVAL_STATUSES = (ApprovalStatus.PENDING, ApprovalStatus.APPROVED, ApprovalStatus.AWAITING_RETURN)
FINAL_APPROVAL_STATUSES = (
    ApprovalStatus.EXECUTED,
    ApprovalStatus.FAILED,
    ApprovalStatus.REJECTED,
    ApprovalStatus.CANCELLED,
)


class RefundApproval(TimeStampedModel):
    """A request to refund money on an order. Nothing moves until approvers decide."""

    order = models.ForeignKey("commerce.Order", on_delete=models.PROTECT, related_name="refund_approvals")
    customer = models.ForeignKey("commerce.Customer", on_delete=models.PROTECT, related_name="refund_approvals")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0.01"))])
    currency = models.CharField(max_length=3)
    reason = models.TextField()
    items = models.JSONField(default=list, blank=True, help_text="[{order_item_id, sku, name, quantity}]")
    policy_check = models.JSONField(default=dict, blank=True, help_text="the shop policy verdict at request time")
    conversation = models.ForeignKey(
        "conversations.Conversation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="refund_approvals",
    )
    return_request = models.ForeignKey(
        "commerce.ReturnRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refund_approvals",
        help_text="the return this refund is for: refunded (and closed) once it is received",
    )
    requested_by_label = models.CharField(max_length=120, help_text="agent, or staff:<username>")
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING, db_index=True
    )
    required_approvals = models.PositiveSmallIntegerField(default=1)
    idempotency_key = models.CharField(max_length=80, unique=True, default=_new_idempotency_key, editable=False)
    refund = models.OneToOneField(
        "commerce.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="approval"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    failure_message = models.CharField(max_length=255, blank=True)
    execution_attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True, help_text="the last unexpected execution error")
    follow_up_ticket = models.ForeignKey(
        "support.Ticket",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="opened for staff when the refund failed",
    )
    escalated_at = models.DateTimeField(
        null=True, blank=True, db_index=True, help_text="when the leads were told it was waiting too long"
    )

    class Meta:
        ordering = ["created_at", "id"]
        permissions = [("decide_refundapproval", "Can approve or reject refund requests")]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_approval_amount_positive"),
            models.CheckConstraint(
                condition=Q(required_approvals__gte=1) & Q(required_approvals__lte=2),
                name="refund_approval_required_1_or_2",
            ),
            models.CheckConstraint(
                condition=~Q(status="executed") | Q(refund__isnull=False),
                name="refund_approval_executed_has_refund",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference}: {self.amount} {self.currency}"

    @property
    def reference(self) -> str:
        return f"R-{self.pk:06d}" if self.pk else "R-new"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class ApprovalDecision(models.Model):
    approval = models.ForeignKey(RefundApproval, on_delete=models.CASCADE, related_name="decisions")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One person counts once: a second approval needs a second person.
            models.UniqueConstraint(fields=["approval", "approver"], name="approval_decision_one_per_approver"),
            models.CheckConstraint(
                condition=~Q(decision="reject") | ~Q(reason=""), name="approval_decision_reject_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.decision} by {self.approver_id} on R-{self.approval_id:06d}"


# --- tickets ------------------------------------------------------------------------------------


class TicketStatus(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING = "pending", "Pending (waiting on customer)"
    SOLVED = "solved", "Solved"
    CLOSED = "closed", "Closed"


class TicketPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class TicketCategory(models.TextChoices):
    ORDER = "order", "Order"
    SHIPPING = "shipping", "Shipping"
    RETURNS = "returns", "Returns and refunds"
    BILLING = "billing", "Billing"
    PRODUCT = "product", "Product"
    ACCOUNT = "account", "Account"
    OTHER = "other", "Other"


class Ticket(TimeStampedModel):
    subject = models.CharField(max_length=200)
    description = models.TextField()
    status = models.CharField(max_length=8, choices=TicketStatus.choices, default=TicketStatus.NEW, db_index=True)
    priority = models.CharField(max_length=8, choices=TicketPriority.choices, default=TicketPriority.NORMAL)
    category = models.CharField(max_length=10, choices=TicketCategory.choices, default=TicketCategory.OTHER)
    customer = models.ForeignKey(
        "commerce.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    conversation = models.ForeignKey(
        "conversations.Conversation", null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    orders = models.ManyToManyField("commerce.Order", blank=True, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_tickets"
    )
    created_by_label = models.CharField(max_length=120, help_text="agent, customer:<id>, staff:<username>, system")
    sla_due_at = models.DateTimeField(db_index=True, help_text="from the priority's SLA (SUPPORT_TICKET_SLA_HOURS)")
    solved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sla_due_at", "id"]
        permissions = [("assign_ticket", "Can assign tickets to staff")]
        indexes = [models.Index(fields=["status", "sla_due_at"])]

    def __str__(self) -> str:
        return f"{self.reference}: {self.subject}"

    @property
    def reference(self) -> str:
        return f"T-{self.pk:06d}" if self.pk else "T-new"


# --- escalations --------------------------------------------------------------------------------


class EscalationReason(models.TextChoices):
    CUSTOMER_REQUEST = "customer_request", "Customer asked for a human"
    LOW_CONFIDENCE = "low_confidence", "Low confidence"
    REPEATED_FAILURE = "repeated_failure", "Repeated failure"
    POLICY_EXCEPTION = "policy_exception", "Policy exception"
    TOOL_FAILURE = "tool_failure", "Tool failure"
    BUDGET_EXHAUSTED = "budget_exhausted", "Budget exhausted"
    NEGATIVE_SENTIMENT = "negative_sentiment", "Negative sentiment"


class EscalationStatus(models.TextChoices):
    OPEN = "open", "Waiting for staff"
    TAKEN = "taken", "Taken over by staff"
    HANDED_BACK = "handed_back", "Handed back to the bot"
    RESOLVED = "resolved", "Resolved"


ACTIVE_ESCALATION_STATUSES = (EscalationStatus.OPEN, EscalationStatus.TAKEN)


class Escalation(TimeStampedModel):
    conversation = models.ForeignKey("conversations.Conversation", on_delete=models.CASCADE, related_name="escalations")
    reason_code = models.CharField(max_length=20, choices=EscalationReason.choices)
    status = models.CharField(
        max_length=12, choices=EscalationStatus.choices, default=EscalationStatus.OPEN, db_index=True
    )
    note = models.TextField(blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="taken_escalations"
    )
    taken_at = models.DateTimeField(null=True, blank=True)
    handed_back_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_code = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        permissions = [("assign_escalation", "Can assign escalations to staff")]
        constraints = [
            # At most one live escalation per conversation: a second call finds the first.
            models.UniqueConstraint(
                fields=["conversation"],
                condition=Q(status__in=["open", "taken"]),
                name="escalation_one_active_per_conversation",
            )
        ]

    def __str__(self) -> str:
        return f"Escalation #{self.pk} ({self.reason_code}, {self.status})"


# --- audit --------------------------------------------------------------------------------------


class SupportAuditEvent(models.Model):
    """One row per decision, escalation or ticket change, written by the service that made it."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    subject_type = models.CharField(max_length=20, db_index=True)  # refund_approval, ticket, escalation
    subject_id = models.BigIntegerField()
    action = models.CharField(max_length=40)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=120, help_text="staff:<username>, agent, customer:<id>, system")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["subject_type", "subject_id"])]

    def __str__(self) -> str:
        return f"{self.subject_type}#{self.subject_id} {self.action} {self.from_state}->{self.to_state}"


# --- staff console: internal notes and saved replies -------------------------------------------


class InternalNote(TimeStampedModel):
    """A note staff leave on a conversation for each other. Never a `Message`: the customer's socket,
    transcript API and the model's context only ever read messages, so a note cannot reach them."""

    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="internal_notes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at"], name="internal_note_conversation")]

    def __str__(self) -> str:
        return f"Note #{self.pk} on {self.conversation_id}"


class SavedReply(TimeStampedModel):
    """A canned answer staff insert into the console's reply box (and edit before sending)."""

    title = models.CharField(max_length=80, unique=True)
    text = models.TextField()
    is_active = models.BooleanField(default=True, db_index=True)

    class Meta:
        ordering = ["title"]
        verbose_name_plural = "saved replies"

    def __str__(self) -> str:
        return self.title


class OutcomeDay(models.Model):
    """The outcome dashboard's figures of one day and route, summed from the per-conversation facts view
    (`support_conversation_outcome`) by the beat job; `apps.support.dashboard.rollup` writes it.

    `key` names the settings the row was computed with (time zone, resolved codes): rows of another key
    are ignored, so changing them never mixes old and new definitions. The latencies are kept as arrays
    so the percentiles of any range stay exact; `left_times` holds, for the conversations that may yet
    count as "left satisfied", when each went quiet (only the most recent days need them)."""

    key = models.CharField(max_length=32)
    facts_at = models.DateTimeField()  # conversations created before this are counted here
    day = models.DateField()
    route = models.CharField(max_length=30)
    conversations = models.IntegerField()
    bot_involved = models.IntegerField()
    staff_involved = models.IntegerField()
    escalated = models.IntegerField()
    confirmed = models.IntegerField()
    left_candidates = models.IntegerField()
    left_last_at = models.DateTimeField(null=True)
    left_times = ArrayField(models.DateTimeField(), default=list)
    csat_count = models.IntegerField()
    csat_sum = models.IntegerField()
    thumbs_up = models.IntegerField()
    thumbs_down = models.IntegerField()
    cost = models.DecimalField(max_digits=16, decimal_places=6)
    first_response_ms = ArrayField(models.FloatField(), default=list)
    full_reply_ms = ArrayField(models.FloatField(), default=list)
    # Exact percentiles (first response p50, p95, full reply p50, p95) of this route's day and of the whole
    # day, so a day's row of the dashboard needs no sort.
    own_p = ArrayField(models.FloatField(null=True), size=4)
    day_p = ArrayField(models.FloatField(null=True), size=4)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "day", "route"], name="outcome_day_key_day_route")]

    def __str__(self) -> str:
        return f"{self.day} {self.route}: {self.conversations}"
