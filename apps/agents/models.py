"""State the agent runtime keeps between turns."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel


class PendingActionStatus(models.TextChoices):
    PENDING = "pending", "Waiting for the customer's confirmation"
    CONFIRMED = "confirmed", "Confirmed, running"
    EXECUTED = "executed", "Executed"
    FAILED = "failed", "Confirmed but refused or failed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled by the customer"


class PendingAction(TimeStampedModel):
    """A `write` tool call the model asked for, held until the customer says yes.

    Only the customer's next message can confirm it (a deterministic yes/no
    classifier on their text, never the model's word); anything else expires it, except an answer that says
    nothing of its own, which is asked again once.
    """

    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="pending_actions"
    )
    requested_in = models.ForeignKey(
        "conversations.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_by = models.ForeignKey(
        "conversations.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    agent = models.CharField(max_length=20, blank=True)
    tool_name = models.CharField(max_length=80)
    arguments = models.JSONField(default=dict)
    summary = models.TextField(help_text="What will happen, in plain language, as shown to the customer.")
    status = models.CharField(
        max_length=10, choices=PendingActionStatus.choices, default=PendingActionStatus.PENDING, db_index=True
    )
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True)
    # Several writes asked for in one message wait together for one yes (0, 1, ...: the order they run in).
    position = models.PositiveSmallIntegerField(default=0)
    # An answer that was neither yes nor no was asked again once (apps.agents.reask); a second one lapses the action.
    reasked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One set of actions waits for a yes in a conversation, each in its place: "yes" must be unambiguous.
            models.UniqueConstraint(
                fields=["conversation", "position"],
                condition=Q(status="pending"),
                name="pending_action_one_per_position",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tool_name} ({self.status})"


class ConversationMemory(models.Model):
    """How far `Conversation.summary` reaches: messages up to this seq are folded into it."""

    conversation = models.OneToOneField(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="agent_memory"
    )
    summary_upto_seq = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"memory of conversation {self.conversation_id} up to #{self.summary_upto_seq}"
