"""What the customer said about an order that fits nothing of theirs is said back before the answer.

"I want to return the jacket from my last order", when their last order holds no jacket, is answered with "Your last
order, TW-100007, has no jacket in it." and then the jackets they do have; a nearby guess is never passed off as the
order they described (`references.Resolution.unmet`, `choice.unmet_lead`).
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo

from apps.agents.specialists.local_common import read_turn, say
from apps.agents.understanding.choice import unmet_lead
from apps.agents.understanding.references import facts_from_data, resolve_in_context

Behaviour = Callable[[list[ModelMessage], AgentInfo], ModelResponse]


def said_back(behaviour: Behaviour, *, listing: str) -> Behaviour:
    """`behaviour`, whose final answer starts with what the customer's message says of an order that does not fit,
    read against the orders its `listing` tool returned this turn (the rows its "which order?" decision read)."""

    def run(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        response = behaviour(messages, info)
        if any(isinstance(p, ToolCallPart) for p in response.parts):
            return response
        answer = "".join(p.content for p in response.parts if isinstance(p, TextPart))
        t = read_turn(messages, info)
        rows = (t.result(listing) or {}).get("orders") or []
        if not answer or not rows or t.order_to_act_on():
            return response
        lead = unmet_lead(resolve_in_context([t.text], facts_from_data(rows), anchor=t.anchor_order()))
        return say(lead, answer) if lead and lead not in answer else response

    return run
