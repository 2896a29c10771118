"""The order specialist: its tools (`tools`), local behaviour (`local`), prompts and routing examples."""

from apps.agents.specialists.base import specialist_spec
from apps.agents.specialists.item_answers import own_item_first
from apps.agents.specialists.order import local, tools

SPEC = specialist_spec(
    "order",
    tools=tools.TOOLS,
    # "what size did i order the runners in?" is answered from the order's lines, wherever the router sent it
    local_behaviour=own_item_first(local.behaviour, listing="list_orders", args={"limit": 10}),
    route_description=(
        "order status, tracking, delivery time, cancelling or changing an order, placing an order, shipping address"
    ),
    ticket_category="order",
)
