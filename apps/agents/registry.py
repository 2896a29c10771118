"""Specialists by route: one package `apps.agents.specialists.<route>` per specialist route.

The specialist routes are those of `apps.conversations.models.Route` other than
`human` and `out_of_scope` (which the turn answers itself: escalate, or decline
politely). Each package defines `SPEC`; adding a specialist is one package plus
one enum value (and its migration). A route without a package is an error at
import time, not a silent placeholder.
"""

from __future__ import annotations

import importlib

from apps.agents.routes import SPECIALIST_ROUTES
from apps.agents.specialists.base import SpecialistSpec
from apps.agents.tools import ToolClass, ToolSpec


def _load(route: str) -> SpecialistSpec:
    spec = importlib.import_module(f"apps.agents.specialists.{route}").SPEC
    if not isinstance(spec, SpecialistSpec) or spec.name != route:
        raise TypeError(f"apps.agents.specialists.{route}.SPEC must be the SpecialistSpec named {route!r}")
    return spec


# As the packages declare them, and the one in service per route (the same unless a test swaps one in).
_DECLARED: dict[str, SpecialistSpec] = {route: _load(route) for route in SPECIALIST_ROUTES}
SPECIALISTS: dict[str, SpecialistSpec] = dict(_DECLARED)


def specialist_for(route: str) -> SpecialistSpec:
    return SPECIALISTS[route]


def tool_get(name: str, *, specialist: str = "") -> ToolSpec:
    """A specialist's tool by name: `specialist`'s own first (a held write remembers who asked), else any one's."""
    own = SPECIALISTS.get(specialist)
    found = own.tool(name) if own is not None else None
    for spec in SPECIALISTS.values():
        found = found or spec.tool(name)
    if found is None:
        raise KeyError(f"no specialist has a tool named {name!r}")
    return found


def write_tools() -> dict[str, ToolSpec]:
    """Every write tool a specialist package declares or a specialist in service has, by name."""
    tools: dict[str, ToolSpec] = {}
    for spec in [*SPECIALISTS.values(), *_DECLARED.values()]:
        for tool in spec.tools:
            if tool.tool_class == ToolClass.WRITE:
                tools.setdefault(tool.name, tool)
    return tools


__all__ = ["SPECIALISTS", "SPECIALIST_ROUTES", "SpecialistSpec", "specialist_for", "tool_get", "write_tools"]
