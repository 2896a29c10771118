"""The router role's `local` model behaviour: the embedding classifier answering as a structured-output model.

Registered with the runtime (`register_local_behaviour("router", local_router_behaviour)`)
it lets an LLM-router chain that ends in `local` still produce an `LLMRouteOutput`.
"""

from __future__ import annotations

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo

from apps.agents.local import final_output, last_user_text, register_local_behaviour
from apps.agents.routing.router import classify_text


def local_router_behaviour(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    prediction = classify_text(last_user_text(messages))
    return final_output(
        info, {"route": prediction.route, "confidence": prediction.confidence, "reason": prediction.reason}
    )


register_local_behaviour("router", local_router_behaviour)
