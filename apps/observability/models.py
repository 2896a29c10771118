"""Traces of agent turns: one `Trace` per customer message, `Span`s for each step.

Operators read them in the admin and the transcript review; the runtime writes
them once, at the end of a turn, through `TraceRecorder`.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class TraceStatus(models.TextChoices):
    OK = "ok", "Answered"
    HANDOFF = "handoff", "Handed to a human"
    BLOCKED = "blocked", "Blocked by a guardrail"
    FAILED = "failed", "Failed (customer got a fallback message)"
    SKIPPED = "skipped", "Skipped (already answered or not for the bot)"


class Trace(models.Model):
    conversation = models.ForeignKey(
        "conversations.Conversation", on_delete=models.CASCADE, related_name="traces", null=True, blank=True
    )
    message = models.ForeignKey(
        "conversations.Message", on_delete=models.SET_NULL, related_name="traces", null=True, blank=True
    )
    customer = models.ForeignKey(
        "commerce.Customer", on_delete=models.SET_NULL, related_name="traces", null=True, blank=True
    )
    route = models.CharField(max_length=16, blank=True, db_index=True)
    route_confidence = models.FloatField(null=True, blank=True)
    route_source = models.CharField(max_length=16, blank=True, help_text="local, llm, sticky, ...")
    agent = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=10, choices=TraceStatus.choices, default=TraceStatus.OK, db_index=True)
    model_requests = models.PositiveIntegerField(default=0)
    tool_calls = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"))
    latency_ms = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(db_index=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["customer", "started_at"], name="trace_customer_day")]

    def __str__(self) -> str:
        return f"Trace #{self.pk} ({self.route or '-'}, {self.status})"

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class SpanKind(models.TextChoices):
    GUARDRAIL = "guardrail", "Guardrail"
    ROUTING = "routing", "Routing"
    MODEL_CALL = "model_call", "Model call"
    TOOL_CALL = "tool_call", "Tool call"
    REPLY = "reply", "Reply"
    HANDOFF = "handoff", "Handoff"


class Span(models.Model):
    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="spans")
    position = models.PositiveIntegerField(help_text="order within the trace")
    kind = models.CharField(max_length=12, choices=SpanKind.choices, db_index=True)
    name = models.CharField(max_length=120)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    latency_ms = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["trace_id", "position"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}"
