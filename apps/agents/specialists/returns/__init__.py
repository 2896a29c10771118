"""The returns specialist: its tools (`tools`), local behaviour (`local`), prompts and routing examples."""

from apps.agents.specialists.base import specialist_spec
from apps.agents.specialists.item_answers import own_item_first
from apps.agents.specialists.returns import local, tools
from apps.agents.specialists.returns.several import several_returns_first

SPEC = specialist_spec(
    "returns",
    tools=tools.TOOLS,
    # "what size did i order the runners in?" is answered from the order's lines, wherever the router sent it
    local_behaviour=own_item_first(several_returns_first(local.behaviour), listing="list_returnable_orders", args={}),
    route_description="returning or exchanging items, refunds, refund status, refund and return policy",
    ticket_category="returns",
)
