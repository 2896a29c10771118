"""The outcome dashboard: the numbers a support lead runs on, from the stored conversations."""

from apps.support.dashboard.metrics import DashboardFilters, Outcomes, outcomes

__all__ = ["DashboardFilters", "Outcomes", "outcomes"]
