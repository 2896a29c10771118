"""The transcript as operators read it: names, addresses, phones and other personal data masked on the way out.

Stored messages and traces keep the original (the customer sees their own text, the
agent needs the delivery address); the review page, trace steps, JSON export and
admin pass what they show through these functions (`apps.guardrails.operators`,
docs/guardrails.md "Names and street addresses"). Nothing here is ever saved.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from apps.conversations.models import Conversation, Message
from apps.conversations.rendering import render_markdown
from apps.conversations.traces import Timeline
from apps.guardrails.operators import operator_data, operator_text

__all__ = ["operator_conversation_fields", "operator_data", "operator_message", "operator_rows", "operator_text"]


def operator_message(message: Message) -> Message:
    """An unsaved copy of `message` with its text, HTML and data masked (attachments and the rest unchanged)."""
    shown = copy.copy(message)
    shown.text = operator_text(message.text)
    shown.html = render_markdown(shown.text) if message.html else ""
    shown.data = operator_data(message.data)
    return shown


def operator_timeline(timeline: Timeline | None) -> Timeline | None:
    if timeline is None:
        return None
    steps = [
        dataclasses.replace(step, summary=operator_text(step.summary), error=operator_text(step.error))
        for step in timeline.steps
    ]
    return dataclasses.replace(timeline, error=operator_text(timeline.error), steps=steps)


def operator_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`selectors.transcript(..., mask=operator_data)` rows with each message and its turn's timeline masked
    (the mask there summarises masked step data; the summaries are read again here as text)."""
    return [
        row | {"message": operator_message(row["message"]), "trace": operator_timeline(row["trace"])} for row in rows
    ]


def operator_conversation_fields(conversation: Conversation) -> dict[str, str]:
    """The conversation's free-text fields written by or about the customer."""
    return {
        "csat_comment": operator_text(conversation.csat_comment),
        "summary": operator_text(conversation.summary),
    }
