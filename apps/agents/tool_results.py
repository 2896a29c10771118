"""Typed tool results: what every tool call comes back as, for the model and for the local behaviours.

A tool implementation returns its data (a dict; plain text for a few test
tools) or raises `ApplicationError`; the runtime (`apps.agents.tools`) turns
that into one `ToolResult`:

- `ok`: `data` (or `text`); the model sees the data as JSON inside an
  untrusted-data block (`wrap_result`: markup escaped, a content-derived id on
  both tags), never as prose it might obey;
- `refused`: a stable `code` (`ErrorCode`) and a message for the customer; the
  model sees `REFUSED (<code>): <message>`;
- `awaiting_confirmation`: a `write` tool was held for the customer's yes; the
  model sees `AWAITING_CONFIRMATION` with the plain summary;
- `failed`: an internal error (reported to Sentry); the model sees `GENERIC_FAILURE`.

`for_model()` is the one serialisation. The object itself travels on
pydantic-ai's `ToolReturnPart.metadata` (never sent to a provider), which is
how the local model reads it: no parsing of prose.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from apps.guardrails.untrusted import TAG, wrap_untrusted

KIND = "tool_result"
_BLOCK_RE = re.compile(rf'<{TAG} kind="{KIND}" id="([0-9a-f]+)" tool="([\w.-]+)">\n(.*)\n</{TAG} id="\1">', re.DOTALL)

GENERIC_FAILURE = (
    "TOOL FAILED: an internal error prevented this action. Nothing was changed. Tell the customer you could not "
    "complete it right now and offer to open a ticket or connect them with a person."
)
AWAITING_CONFIRMATION = (
    "AWAITING CUSTOMER CONFIRMATION: nothing has been done yet. Ask the customer to reply 'yes' to confirm "
    "or 'no' to cancel: {summary}"
)


class ToolStatus(StrEnum):
    OK = "ok"
    REFUSED = "refused"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    FAILED = "failed"


class ErrorCode(StrEnum):
    """Why a tool refused: the `ApplicationError` codes the tools and the services they call raise."""

    # scope and lookups
    NOT_FOUND = "not_found"
    ORDER_REQUIRED = "order_required"
    FORBIDDEN = "forbidden"
    # orders
    NOT_CANCELLABLE = "not_cancellable"
    PAYMENT_CAPTURED = "payment_captured"
    ALREADY_SHIPPED = "already_shipped"
    INVALID_ADDRESS = "invalid_address"
    INVALID_TRANSITION = "invalid_transition"
    # returns and refunds
    RETURN_NOT_ELIGIBLE = "return_not_eligible"
    WINDOW_CLOSED = "window_closed"
    NOT_DELIVERED = "not_delivered"
    ALREADY_RETURNED = "already_returned"
    RETURN_IN_PROGRESS = "return_in_progress"
    FINAL_SALE = "final_sale"
    NOTHING_RETURNABLE = "nothing_returnable"
    NO_ITEMS = "no_items"
    NOT_IN_ORDER = "not_in_order"
    INVALID_REASON = "invalid_reason"
    INVALID_ITEMS = "invalid_items"
    INVALID_QUANTITY = "invalid_quantity"
    ITEMS_REQUIRED = "items_required"
    ITEM_NOT_IN_ORDER = "item_not_in_order"
    DUPLICATE_ITEM = "duplicate_item"
    EXCHANGE_VARIANT_OUT_OF_STOCK = "exchange_variant_out_of_stock"
    INVALID_AMOUNT = "invalid_amount"
    AMOUNT_EXCEEDS_POLICY = "amount_exceeds_policy"
    AMOUNT_EXCEEDS_REFUNDABLE = "amount_exceeds_refundable"
    AMOUNT_EXCEEDS_PAID = "amount_exceeds_paid"
    NO_CAPTURED_PAYMENT = "no_captured_payment"
    REFUND_ALREADY_REQUESTED = "refund_already_requested"
    REASON_REQUIRED = "reason_required"
    # billing
    NO_EMAIL_ON_FILE = "no_email_on_file"
    EMAIL_NOT_ON_FILE = "email_not_on_file"
    # tickets and hand-offs
    TICKET_INCOMPLETE = "ticket_incomplete"
    INVALID_CATEGORY = "invalid_category"
    INVALID_PRIORITY = "invalid_priority"
    CONVERSATION_CLOSED = "conversation_closed"
    # help center
    NOT_AN_EXCERPT = "not_an_excerpt"
    # a code no entry above names (kept verbatim in `ToolResult.raw_code` and for the model)
    OTHER = "other"

    @classmethod
    def of(cls, code: str) -> ErrorCode:
        try:
            return cls(code)
        except ValueError:
            return cls.OTHER


@dataclass(frozen=True)
class ToolResult:
    tool: str
    status: ToolStatus
    data: dict[str, Any] | None = None  # ok: the tool's data
    text: str = ""  # ok: a plain-text result (tools that return a string)
    code: ErrorCode | None = None  # refused
    raw_code: str = ""  # refused: the code as raised (equals `code` unless OTHER)
    message: str = ""  # refused: the reason, fit for the customer
    summary: str = ""  # awaiting_confirmation: what the customer is asked to confirm
    extra: dict[str, Any] | None = None  # refused: the error's structured details
    payload: str = field(default="", repr=False)  # ok with data: the data's JSON, as the model gets it

    @classmethod
    def ok(cls, tool: str, value: Any) -> ToolResult:
        if isinstance(value, dict):
            # Serialised once; `data` is read back from it, so the local model sees exactly what an LLM sees.
            payload = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
            return cls(tool, ToolStatus.OK, data=json.loads(payload), payload=payload)
        return cls(tool, ToolStatus.OK, text=value if isinstance(value, str) else str(value))

    @classmethod
    def refused(cls, tool: str, code: str, message: str, extra: dict[str, Any] | None = None) -> ToolResult:
        return cls(tool, ToolStatus.REFUSED, code=ErrorCode.of(code), raw_code=code, message=message, extra=extra)

    @classmethod
    def awaiting(cls, tool: str, summary: str) -> ToolResult:
        return cls(tool, ToolStatus.AWAITING_CONFIRMATION, summary=summary)

    @classmethod
    def failed(cls, tool: str) -> ToolResult:
        return cls(tool, ToolStatus.FAILED)

    def for_model(self) -> str:
        """The one text form the model (any provider, or the test's scripted model) is given."""
        return self._model_text

    @cached_property
    def _model_text(self) -> str:
        # Made once: the model's part and the trace's summary of the call both read it.
        if self.status == ToolStatus.OK:
            return self.text if self.data is None else wrap_untrusted(KIND, self.payload, tool=self.tool)
        if self.status == ToolStatus.REFUSED:
            return f"REFUSED ({self.raw_code}): {self.message}"
        if self.status == ToolStatus.AWAITING_CONFIRMATION:
            return AWAITING_CONFIRMATION.format(summary=self.summary)
        return GENERIC_FAILURE


def wrap_result(tool: str, data: dict[str, Any]) -> str:
    """`data` as JSON in one untrusted-data block for the model."""
    payload = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False)
    return wrap_untrusted(KIND, payload, tool=tool)


def unwrap_result(content: object) -> tuple[str, dict[str, Any]] | None:
    """(tool name, data) from a wrapped result, or None for anything else (refusals, runtime notices)."""
    if not isinstance(content, str):
        return None
    match = _BLOCK_RE.fullmatch(content.strip())
    if match is None:
        return None
    try:
        data = json.loads(html.unescape(match.group(3)))
    except ValueError:
        return None
    return (match.group(2), data) if isinstance(data, dict) else None
