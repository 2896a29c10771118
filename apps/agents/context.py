"""What the model sees of the past: history trimmed to a token budget, the
conversation summary, and a compact customer profile."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, UserPromptPart

from apps.agents.accounting import count_tokens
from apps.agents.routes import HistoryTurn
from apps.conversations.models import Conversation, Message, MessageRole

HISTORY_SCAN_LIMIT = 60


@dataclass
class TurnContext:
    history: list[HistoryTurn]  # oldest first, excluding the current message
    summary: str
    profile: str
    trimmed: int  # messages left out for the token budget
    tokens: int = 0  # tokens the kept history uses


def history_load(
    *, conversation: Conversation, before: Message, max_tokens: int | None = None
) -> tuple[list[HistoryTurn], int]:
    """Newest messages first until the token budget is spent, returned oldest first."""
    budget = settings.SWITCHBOARD_HISTORY_MAX_TOKENS if max_tokens is None else max_tokens
    with connection.cursor() as cursor:
        cursor.execute(_HISTORY_SQL, [conversation.pk, before.seq, MessageRole.SYSTEM, HISTORY_SCAN_LIMIT])
        rows = cursor.fetchall()
    kept: list[HistoryTurn] = []
    used = 0
    for role, text, agent in rows:
        tokens = count_tokens(text) + 4
        if used + tokens > budget:
            break
        kept.append(HistoryTurn(role=role, text=text, agent=agent))
        used += tokens
    if len(rows) < HISTORY_SCAN_LIMIT:
        trimmed = len(rows) - len(kept)
    else:
        total = conversation.messages.filter(seq__lt=before.seq).exclude(role=MessageRole.SYSTEM).count()
        trimmed = total - len(kept)
    return list(reversed(kept)), trimmed, used


# Every turn reads it: written as SQL, the ORM's compile of it cost more CPU than PostgreSQL's run (issue 14).
_HISTORY_SQL = (
    f"SELECT role, text, agent FROM {Message._meta.db_table} "  # noqa: S608 - constant name, bound values
    "WHERE conversation_id = %s AND seq < %s AND NOT (role = %s) ORDER BY seq DESC LIMIT %s"
)


def profile_for(*, customer: object | None, verified_order: object | None) -> str:
    """A few lines about who we are talking to: name, recent orders, open tickets. No payment data."""
    lines: list[str] = []
    if customer is not None:
        lines.append(f"Customer: {customer.first_name} {customer.last_name}".strip())  # type: ignore[attr-defined]
        orders = list(customer.orders.order_by("-placed_at").values_list("number", "status")[:3])  # type: ignore[attr-defined]
        if orders:
            lines.append("Recent orders: " + ", ".join(f"{n} ({s})" for n, s in orders))
        try:
            from apps.support.models import Ticket

            open_tickets = Ticket.objects.filter(customer=customer).exclude(status__in=["solved", "closed"]).count()
            lines.append(f"Open tickets: {open_tickets}")
        except (ImportError, LookupError):
            pass
    elif verified_order is not None:
        lines.append(f"Guest verified for order {verified_order.number} only.")  # type: ignore[attr-defined]
    else:
        lines.append("Guest, not verified: no order details may be shared until they verify.")
    return "\n".join(lines)


def window_start_seq(*, conversation: Conversation, upto_seq: int, max_tokens: int | None = None) -> int:
    """The seq of the oldest message (up to `upto_seq`, inclusive) that still fits the history budget.

    Messages before it are out of the model's context: the summary must cover them.
    """
    budget = settings.SWITCHBOARD_HISTORY_MAX_TOKENS if max_tokens is None else max_tokens
    rows = (
        conversation.messages.filter(seq__lte=upto_seq)
        .exclude(role=MessageRole.SYSTEM)
        .order_by("-seq")
        .values_list("seq", "text")[:HISTORY_SCAN_LIMIT]
    )
    used = 0
    start = upto_seq + 1
    for seq, text in rows:
        used += count_tokens(text) + 4
        if used > budget:
            break
        start = seq
    return start


def context_load(*, conversation: Conversation, message: Message) -> TurnContext:
    history, trimmed, tokens = history_load(conversation=conversation, before=message)
    return TurnContext(
        history=history,
        tokens=tokens,
        summary=conversation.summary,
        profile=profile_for(customer=conversation.customer, verified_order=conversation.verified_order),
        trimmed=trimmed,
    )


def as_model_messages(history: list[HistoryTurn]) -> list[ModelMessage]:
    """History as pydantic-ai messages: customer -> user prompts, assistant/staff -> responses."""
    messages: list[ModelMessage] = []
    for item in history:
        if item.role == MessageRole.CUSTOMER:
            messages.append(ModelRequest(parts=[UserPromptPart(content=item.text)]))
        else:
            prefix = "[staff] " if item.role == MessageRole.STAFF else ""
            messages.append(ModelResponse(parts=[TextPart(content=prefix + item.text)]))
    return messages
