"""Conversations between a customer and the desk (bot or staff)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import TimeStampedModel


class Channel(models.TextChoices):
    WEB = "web", "Chat page"
    WIDGET = "widget", "Embedded widget"
    API = "api", "API"


class ConversationStatus(models.TextChoices):
    OPEN = "open", "Open (bot)"
    WAITING_HUMAN = "waiting_human", "Waiting for a human"
    HUMAN = "human", "With a human"
    CLOSED = "closed", "Closed"


class Route(models.TextChoices):
    ORDER = "order", "Order"
    RETURNS = "returns", "Returns"
    BILLING = "billing", "Billing"
    FAQ = "faq", "FAQ"
    HUMAN = "human", "Human"
    OUT_OF_SCOPE = "out_of_scope", "Out of scope"


class Conversation(TimeStampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Identity comes from the session (signed-in user, verified guest, or a
    # shop-signed token); the model never chooses it.
    customer = models.ForeignKey(
        "commerce.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    # A guest who verified with an order number and email sees that order only.
    verified_order = models.ForeignKey(
        "commerce.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True, db_index=True)
    # The address that started it (docs/security.md): guests' daily budgets are counted per address.
    client_ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    status = models.CharField(
        max_length=16, choices=ConversationStatus.choices, default=ConversationStatus.OPEN, db_index=True
    )
    current_route = models.CharField(max_length=16, choices=Route.choices, blank=True)
    route_confidence = models.FloatField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    summary = models.TextField(blank=True, help_text="Summary of turns trimmed from the model's context.")
    resolution_code = models.CharField(max_length=40, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The seq of its last message: the next one is counted here, under the row's lock (services.message_store).
    last_seq = models.PositiveIntegerField(default=0, editable=False)
    csat_score = models.PositiveSmallIntegerField(null=True, blank=True)
    csat_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        permissions = [
            ("takeover_conversation", "Can take over a conversation from the bot"),
            ("review_conversation", "Can review transcripts and flag replies"),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.public_id}"

    @property
    def bot_paused(self) -> bool:
        return self.status in {ConversationStatus.WAITING_HUMAN, ConversationStatus.HUMAN, ConversationStatus.CLOSED}


class MessageRole(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    ASSISTANT = "assistant", "Assistant"
    STAFF = "staff", "Staff"
    SYSTEM = "system", "System"


class MessageStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    ANSWERED = "answered", "Answered"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not for the bot"


class Message(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    # Strictly increasing per conversation: clients resume from the last seq they saw.
    seq = models.PositiveIntegerField()
    role = models.CharField(max_length=10, choices=MessageRole.choices)
    client_message_id = models.CharField(max_length=64, blank=True)
    text = models.TextField()
    # The text as sanitised HTML (a Markdown subset, apps.conversations.rendering), rendered once when stored;
    # empty for customer messages, which are always shown as plain text.
    html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=MessageStatus.choices, blank=True)
    agent = models.CharField(max_length=20, blank=True, help_text="which specialist (or 'human') wrote it")
    citations = models.JSONField(default=list, blank=True)
    data = models.JSONField(default=dict, blank=True)
    in_reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["conversation_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="message_seq_unique"),
            models.UniqueConstraint(
                fields=["conversation", "client_message_id"],
                condition=~Q(client_message_id=""),
                name="message_client_id_unique",
            ),
            # A customer message is answered by the bot at most once.
            models.UniqueConstraint(
                fields=["in_reply_to"], condition=Q(role="assistant"), name="message_one_bot_reply"
            ),
        ]

    def __str__(self) -> str:
        # No text: the admin shows this in lists and inlines, where customer text is shown masked only.
        return f"{self.role}#{self.seq}"


class FeedbackRating(models.TextChoices):
    UP = "up", "Helpful"
    DOWN = "down", "Not helpful"


class Feedback(models.Model):
    """A customer's thumbs up or down on one answer (the last vote counts)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="feedback")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="feedback")
    rating = models.CharField(max_length=4, choices=FeedbackRating.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "feedback"

    def __str__(self) -> str:
        return f"{self.rating} on {self.message_id}"


class ReplyFlag(models.Model):
    """An operator marks a bot reply as wrong, with a note, for the team to fix."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="flags")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="flags")
    flagged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    note = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"flag on {self.message_id}"


class ConversationEvent(models.Model):
    """Audit trail of a conversation's state changes (who, what, when)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.action} on {self.conversation_id}"


def _attachment_path(instance: Attachment, filename: str) -> str:
    # Never the customer's file name on disk: a random name with the sniffed type's extension.
    return f"chat/{instance.conversation.public_id}/{instance.public_id}.{instance.extension}"


class Attachment(models.Model):
    """A photo a customer sent in the chat (a damaged item, a wrong label). Served only to staff and the
    conversation's owner (apps.conversations.views.attachment_download)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=_attachment_path, max_length=200)
    content_type = models.CharField(max_length=40, help_text="sniffed from the bytes, not the file name")
    original_name = models.CharField(max_length=120, blank=True)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"attachment {self.public_id} on {self.conversation_id}"

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif"}.get(
            self.content_type, "bin"
        )
