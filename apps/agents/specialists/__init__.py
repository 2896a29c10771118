"""The four specialists (order, returns, billing, faq): prompts, their own tools, and their local behaviour.

Imported once by the runtime's registry (`apps.agents.registry.specialist_for`),
which is what registers them. Each specialist gets only its own tools plus the
shared ones (ticket, escalate, hand back); see docs/specialists.md.
"""

from __future__ import annotations

from apps.agents.registry import BASE_INSTRUCTIONS, SpecialistSpec, register_specialist
from apps.agents.specialists import tools_billing, tools_common, tools_faq, tools_order, tools_returns
from apps.agents.specialists.local import billing as local_billing
from apps.agents.specialists.local import faq as local_faq
from apps.agents.specialists.local import order as local_order
from apps.agents.specialists.local import returns as local_returns
from apps.agents.specialists.prompts import load_prompt
from apps.guardrails.untrusted import UNTRUSTED_DATA_NOTICE

UNTRUSTED_NOTE = UNTRUSTED_DATA_NOTICE + ' Tool results are JSON inside such blocks (kind "tool_result").'

_DEFINITIONS = (
    ("order", tools_order.TOOLS, local_order.behaviour),
    ("returns", tools_returns.TOOLS, local_returns.behaviour),
    ("billing", tools_billing.TOOLS, local_billing.behaviour),
    ("faq", tools_faq.TOOLS, local_faq.behaviour),
)


def build_specs() -> list[SpecialistSpec]:
    specs = []
    for name, tools, behaviour in _DEFINITIONS:
        prompt = load_prompt(name)
        specs.append(
            SpecialistSpec(
                name=name,
                instructions="\n\n".join([BASE_INSTRUCTIONS, UNTRUSTED_NOTE, prompt.text]),
                # Every specialist may look up the help center for a general policy question it receives;
                # only the FAQ specialist answers from nothing else.
                tools=[*tools, *([] if name == "faq" else tools_faq.TOOLS), *tools_common.TOOLS],
                local_behaviour=behaviour,
                version=prompt.id,
            )
        )
    return specs


SPECS = {spec.name: register_specialist(spec) for spec in build_specs()}

__all__ = ["SPECS", "build_specs"]
