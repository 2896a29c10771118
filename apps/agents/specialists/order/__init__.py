"""The order specialist: its tools (`tools`), local behaviour (`local`), prompts and routing examples."""

from apps.agents.specialists.base import specialist_spec
from apps.agents.specialists.order import local, tools

SPEC = specialist_spec("order", tools=tools.TOOLS, local_behaviour=local.behaviour, ticket_category="order")
