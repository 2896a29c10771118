"""The FAQ specialist, offline: the help-center flow (`help_center_local`), after the shared rules.

It searches, then quotes the sentences of the best excerpt that share the most
words with the question, and cites the excerpt. When nothing relevant comes
back it says it does not know and offers a ticket (a `create_ticket` held for
the customer's yes).
"""

from __future__ import annotations

from pydantic_ai.messages import ModelMessage, ModelResponse
from pydantic_ai.models.function import AgentInfo

from apps.agents.specialists.help_center_local import behaviour_steps
from apps.agents.specialists.local_common import read_turn
from apps.agents.specialists.local_rules import handle_common


def behaviour(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    t = read_turn(messages, info)
    if t.outcomes and t.outcomes[0].tool in ("search_knowledge", "create_ticket"):
        return behaviour_steps(t)
    common = handle_common(t, topic="help-center", category="other")
    if common is not None:
        return common
    return behaviour_steps(t)
