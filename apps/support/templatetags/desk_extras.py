"""Formatting for the staff console and the outcome dashboard."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def pct(value: float | None) -> str:
    """0.734 -> "73%"; None (no conversations) -> "–"."""
    return "–" if value is None else f"{value * 100:.0f}%"


@register.filter
def ms(value: float | None) -> str:
    """Milliseconds for a person: "840 ms", "12.4 s", "3.2 min"; None -> "–"."""
    if value is None:
        return "–"
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 120_000:
        return f"{value / 1000:.1f} s"
    return f"{value / 60_000:.1f} min"
