"""Structured extras on an assistant reply: quick-reply buttons and order cards (docs/chat-protocol.md).

The agent's turn calls `reply_data` when it stores a reply and merges the result into `Message.data`:

- `quick_replies`: `[{"label", "text", "kind"}]`, buttons that send `text` as the customer's next message.
  Offered when the reply waits for the customer's yes to a pending action (kind `confirm` / `decline`).
- `order_cards`: `[{"number", "items", "placed_on", "status", "status_label", "text"}]`, one per order of the
  customer's the reply names (two or more), so the customer picks one with a tap; the card sends `text`.

Order cards come from the customer's own orders (the session's scope), never from the model's text: the
text only decides which of them the reply offered.
"""

from __future__ import annotations

from typing import Any

from apps.commerce import selectors as commerce_selectors
from apps.conversations.models import Conversation

CONFIRM_REPLIES = (
    {"label": "Yes, go ahead", "text": "Yes", "kind": "confirm"},
    {"label": "No, don't", "text": "No", "kind": "decline"},
)
MAX_CARDS = 5
SCOPE_ORDERS = 20


def _item_line(order: Any) -> str:
    items = list(order.items.all())
    if not items:
        return ""
    first = items[0]
    name = f"{first.product_name} ({first.variant_name})" if first.variant_name else first.product_name
    more = len(items) - 1
    return name + (f" and {more} more item{'s' if more > 1 else ''}" if more else "")


def order_cards(*, conversation: Conversation, text: str) -> list[dict[str, Any]]:
    """Cards for the customer's orders the reply names, in the reply's order (none if it names fewer than 2)."""
    if conversation.customer_id is None or not text:
        return []  # a verified guest sees one order only: nothing to choose between
    orders = commerce_selectors.order_list_for_customer(customer=conversation.customer, limit=SCOPE_ORDERS)
    named = sorted((o for o in orders if o.number in text), key=lambda o: text.index(o.number))
    if len(named) < 2:
        return []
    return [
        {
            "number": o.number,
            "items": _item_line(o),
            "placed_on": o.placed_at.date().isoformat(),
            "status": o.status,
            "status_label": o.get_status_display(),
            "text": f"Order {o.number}",
        }
        for o in named[:MAX_CARDS]
    ]


def reply_data(*, conversation: Conversation, text: str, awaiting_confirmation: bool) -> dict[str, Any]:
    """What to merge into an assistant message's `data` (empty when the reply needs no buttons)."""
    data: dict[str, Any] = {}
    if awaiting_confirmation:
        data["quick_replies"] = [dict(r) for r in CONFIRM_REPLIES]
    cards = order_cards(conversation=conversation, text=text)
    if cards and not awaiting_confirmation:
        data["order_cards"] = cards
    return data
