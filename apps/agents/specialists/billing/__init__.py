"""The billing specialist: its tools (`tools`), local behaviour (`local`), prompts and routing examples."""

from apps.agents.specialists.base import specialist_spec
from apps.agents.specialists.billing import local, tools

SPEC = specialist_spec(
    "billing",
    tools=tools.TOOLS,
    local_behaviour=local.behaviour,
    route_description="invoices, receipts, payments and payment problems, payment methods, charges, cancellation fees",
    ticket_category="billing",
)
