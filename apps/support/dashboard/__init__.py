"""The outcome dashboard: the numbers a support lead runs on, from the stored conversations."""

from apps.support.dashboard.metrics import DashboardFilters, Outcomes, outcomes
from apps.support.dashboard.rollup import outcomes_refresh

__all__ = ["DashboardFilters", "Outcomes", "outcomes", "outcomes_refresh"]
