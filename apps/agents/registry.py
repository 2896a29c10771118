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


def _load(route: str) -> SpecialistSpec:
    spec = importlib.import_module(f"apps.agents.specialists.{route}").SPEC
    if not isinstance(spec, SpecialistSpec) or spec.name != route:
        raise TypeError(f"apps.agents.specialists.{route}.SPEC must be the SpecialistSpec named {route!r}")
    return spec


SPECIALISTS: dict[str, SpecialistSpec] = {route: _load(route) for route in SPECIALIST_ROUTES}


def specialist_for(route: str) -> SpecialistSpec:
    return SPECIALISTS[route]


__all__ = ["SPECIALISTS", "SPECIALIST_ROUTES", "SpecialistSpec", "specialist_for"]
