"""What every tool and every local behaviour knows about the turn.

Identity comes from the session (signed-in customer, or a guest verified with
an order number and email), never from the model: tools read it from
`ctx.deps` (`RunContext[SupportDeps]`) and take no customer id or email as an
argument.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from apps.agents.budgets import TurnBudget
    from apps.commerce.models import Customer, Order
    from apps.conversations.models import Conversation, Message
    from apps.observability.recorder import TraceRecorder


@dataclass(frozen=True)
class KnowledgeSearch:
    """One help-center search of the turn, for the gaps report (`help_center.record_unanswered`)."""

    asked: str  # the question being served: the customer's message, or a planned step's part of it
    query: str
    answered: bool
    best_score: float | None


@dataclass
class SupportDeps:
    conversation: Conversation
    customer: Customer | None
    # A verified guest may see this order and nothing else (customer is then None
    # or the order's customer, but scope checks must use `verified_order`).
    verified_order: Order | None
    trace: TraceRecorder
    message: Message | None = None
    budget: TurnBudget | None = None
    route: str = ""
    agent: str = ""
    # Citations the FAQ tools collect; stored with the reply.
    citations: list[dict[str, Any]] = field(default_factory=list)
    # The help-center searches of the turn; the questions none of them answered go to the gaps report.
    searches: list[KnowledgeSearch] = field(default_factory=list)
    # Set by tools that hand the conversation to a person (escalation reason code).
    handoff_reason: str = ""
    # Set by a tool that asks the router to take the next message afresh.
    handed_back: bool = False
    # The model's view of who the customer is and what was said before (set when the context is loaded).
    profile: str = ""
    summary: str = ""
    # Free-form facts tools leave for the output guardrails (e.g. refunded orders).
    facts: dict[str, Any] = field(default_factory=dict)
    # The route to store with the reply (route, confidence), set by the router or a hand-back.
    route_write: tuple[str, float | None] | None = None
    # The guardrail context's database-derived part, read once per turn (apps.agents.guard).
    guard_base: Any = None

    @property
    def text(self) -> str:
        """The customer's message of this turn (after input guardrails)."""
        return self.facts.get("customer_text", self.message.text if self.message is not None else "")
