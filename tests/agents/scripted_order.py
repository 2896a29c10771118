"""A scripted order specialist for the runtime's tests: three fake tools (a read, a write that waits for the
customer's yes, an approval) that record their calls in CALLS, and a local behaviour that picks one by the message's
first word. `scripted_order_specialist` (tests/agents/conftest.py) installs it."""

from __future__ import annotations

from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo

from apps.agents.deps import SupportDeps
from apps.agents.local import last_user_text, text_response, tool_call_response, tool_returns_since_user
from apps.agents.tools import approval_tool, read_tool, write_tool
from apps.core.errors import ApplicationError

CALLS: list[tuple[str, dict[str, Any]]] = []


@read_tool
def fake_order_status(ctx: RunContext[SupportDeps], number: str) -> str:
    """Look up an order's status."""
    CALLS.append(("fake_order_status", {"number": number, "customer": ctx.deps.customer.email}))
    if number == "TW-404":
        raise ApplicationError("No such order.", code="not_found")
    if number == "TW-500":
        raise ZeroDivisionError("bug")
    return f"Order {number} is shipped."


@write_tool(
    summary=lambda args, deps: f"cancel order {args['number']}",
    done_message=lambda result, args: f"Order {args['number']} is cancelled.",
)
def fake_order_cancel(ctx: RunContext[SupportDeps], number: str) -> str:
    """Cancel a pending order."""
    CALLS.append(("fake_order_cancel", {"number": number, "customer": ctx.deps.customer.email}))
    return "cancelled"


@approval_tool
def fake_refund_request(ctx: RunContext[SupportDeps], number: str, reason: str) -> str:
    """Ask staff to approve a refund."""
    CALLS.append(("fake_refund_request", {"number": number, "reason": reason}))
    return "Refund request created; pending staff review."


def scripted(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    """A rule-based local behaviour: one tool per keyword, then say what the tool said."""
    returns = tool_returns_since_user(messages)
    if returns:
        return text_response(" ".join(r.model_response_str() for r in returns))
    words = last_user_text(messages).split()
    if words[0] == "status":
        return tool_call_response(("fake_order_status", {"number": words[1]}))
    if words[0] == "cancel":
        return tool_call_response(("fake_order_cancel", {"number": words[1]}))
    if words[0] == "refund":
        return tool_call_response(("fake_refund_request", {"number": words[1], "reason": "broken"}))
    if words[0] == "loop":
        return tool_call_response(("fake_order_status", {"number": "TW-1"}))
    return text_response("How can I help?")
