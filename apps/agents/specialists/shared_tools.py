"""Tools every specialist has: open a ticket (write), escalate to a person, hand back to the router.

Escalating and handing back are not `write`s: they change nothing of the
customer's (no order, no money, no message sent outside), and asking someone who
wants a person to first confirm that they want a person would be hostile.
They are declared `read` so they run when called; both are traced like any tool.
"""

from __future__ import annotations

from typing import Any

from pydantic_ai import RunContext

from apps.agents.deps import SupportDeps
from apps.agents.specialists.scope import order_in_scope
from apps.agents.tools import read_tool, write_tool
from apps.core.errors import ApplicationError
from apps.support.models import EscalationReason, TicketCategory, TicketPriority
from apps.support.services import escalation_create, ticket_create

REASON_CODES = tuple(EscalationReason.values)


def _ticket_precheck(ctx: Any, subject: str, description: str, category: str = "other", **rest: Any) -> None:
    if not (subject or "").strip() or not (description or "").strip():
        raise ApplicationError("A ticket needs a subject and a description.", code="ticket_incomplete")
    if category not in TicketCategory.values:
        raise ApplicationError(f"Category must be one of {', '.join(TicketCategory.values)}.", code="invalid_category")
    if rest.get("priority", "normal") not in TicketPriority.values:
        raise ApplicationError(f"Priority must be one of {', '.join(TicketPriority.values)}.", code="invalid_priority")
    if rest.get("order_number"):
        order_in_scope(ctx.deps, rest["order_number"])


def _ticket_summary(args: dict[str, Any], deps: SupportDeps) -> str:
    about = f" about order {args['order_number'].upper()}" if args.get("order_number") else ""
    return f'open a support ticket{about} for our team: "{" ".join(args["subject"].split())[:120]}"'


def _ticket_done(result: Any, args: dict[str, Any]) -> str:
    return (
        f"Your ticket {result['reference']} is open. Our team will reply by email, usually within "
        f"{result['sla_hours']} hours."
    )


@write_tool(
    summary=_ticket_summary,
    precheck=_ticket_precheck,
    done_message=_ticket_done,
    confirm_verbs=("create", "open", "start", "book", "file", "make"),
)
def create_ticket(
    ctx: RunContext[SupportDeps],
    subject: str,
    description: str,
    category: str = "other",
    priority: str = "normal",
    order_number: str = "",
) -> dict[str, Any]:
    """Open a support ticket for the shop's team (category: order, shipping, returns, billing, product, account,
    other). Use when the customer wants follow-up you cannot give. Needs the customer's confirmation."""
    from django.conf import settings

    deps = ctx.deps
    orders = [order_in_scope(deps, order_number)] if order_number else []
    ticket = ticket_create(
        subject=subject[:200],
        description=description,
        category=category,
        priority=priority,
        customer=deps.customer,
        conversation=deps.conversation,
        orders=orders,
        created_by_label="agent",
    )
    return {"reference": ticket.reference, "sla_hours": settings.SUPPORT_TICKET_SLA_HOURS[ticket.priority]}


@read_tool
def escalate_to_human(ctx: RunContext[SupportDeps], reason_code: str, note: str = "") -> dict[str, Any]:
    """Hand the conversation to a person from the team; the assistant stops answering until they hand it back.
    reason_code: customer_request, low_confidence, repeated_failure, policy_exception, tool_failure,
    budget_exhausted or negative_sentiment. `note` tells the team what the customer needs."""
    if reason_code not in REASON_CODES:
        raise ApplicationError(f"reason_code must be one of {', '.join(REASON_CODES)}.", code="invalid_reason")
    deps = ctx.deps
    escalation = escalation_create(conversation=deps.conversation, reason_code=reason_code, note=note[:2000])
    deps.handoff_reason = reason_code
    return {"escalated": True, "reason_code": escalation.reason_code, "status": escalation.status}


@read_tool
def hand_back_to_router(ctx: RunContext[SupportDeps], reason: str = "") -> dict[str, Any]:
    """The customer's request is not for this specialist: hand the conversation back so the next message is
    routed afresh. Tell the customer briefly what you can and cannot help with here."""
    ctx.deps.handed_back = True
    return {"handed_back": True, "reason": reason[:200]}


TOOLS = [create_ticket, escalate_to_human, hand_back_to_router]
