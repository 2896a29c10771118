"""Server-side SVG charts: coordinates computed here, drawn by the template (no script, CSP-safe).

A chart is a plain dict the template walks: bars or polylines in a fixed viewBox, y-axis ticks with
labels, and x labels thinned so they never overlap. Every mark carries its value as a <title>.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from django.utils.html import format_html_join

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 28, 12, 28
MAX_X_LABELS = 8


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 4, 8, 10):
        top = step * 10**exponent
        if top >= value:
            return float(top)
    return float(10 ** (exponent + 1))


def _ticks(top: float, fmt: Callable[[float], str]) -> list[dict[str, Any]]:
    # Four steps of a 1-2-4-8 top are round numbers (counts under 4 get a top of 4: whole-number ticks).
    plot_h = HEIGHT - TOP - BOTTOM
    return [{"y": round(TOP + plot_h * (1 - i / 4), 1), "label": fmt(top * i / 4)} for i in range(5)]


def _x_labels(labels: Sequence[str], xs: Sequence[float]) -> list[dict[str, Any]]:
    if not labels:
        return []
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    return [
        {"x": round(x, 1), "label": label}
        for i, (label, x) in enumerate(zip(labels, xs, strict=True))
        if i % every == 0
    ]


def _plot_frame(kind: str, title: str) -> dict[str, Any]:
    """What a bar and a line chart share: the kind, the title and the plot area inside the axes."""
    return {
        "kind": kind,
        "title": title,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": HEIGHT - BOTTOM,
    }


def bar_chart(
    points: Sequence[tuple[str, float]],
    *,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    title: str,
    integer: bool = False,
) -> dict[str, Any]:
    """Vertical bars, one per label (a day or a route)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((v for _, v in points), default=0))
    if integer:
        top = max(top, 4.0)
    slot = plot_w / max(len(points), 1)
    gap = min(slot * 0.2, 6)
    bars, centres = [], []
    for i, (label, value) in enumerate(points):
        h = plot_h * value / top
        x = LEFT + i * slot + gap / 2
        bars.append(
            {
                "x": round(x, 2),
                "y": round(TOP + plot_h - h, 2),
                "width": round(max(slot - gap, 1), 2),
                "height": round(h, 2),
                "label": label,
                "value": fmt(value),
            }
        )
        centres.append(x + (slot - gap) / 2)
    return {
        **_plot_frame("bar", title),
        "bars": bars,
        # A year is 365 bars per chart: joined here (escaped) rather than looped over in the template.
        "marks": format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" class="mark"><title>{}: {}</title></rect>',
            ((b["x"], b["y"], b["width"], b["height"], b["label"], b["value"]) for b in bars),
        ),
        "ticks": _ticks(top, fmt),
        "x_labels": _x_labels([p[0] for p in points], centres),
        "empty": not points,
    }


def line_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    fmt: Callable[[float], str] = lambda v: f"{v:g}",
    title: str,
    top: float | None = None,
) -> dict[str, Any]:
    """One polyline per series over the labels; a missing value breaks the line."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [v for _, vs in series for v in vs if v is not None]
    top = top or _nice_max(max(values, default=0))
    step = plot_w / max(len(labels) - 1, 1)
    xs = [LEFT + i * step if len(labels) > 1 else LEFT + plot_w / 2 for i in range(len(labels))]
    lines = []
    for index, (name, vs) in enumerate(series):
        segments, current, dots = [], [], []
        for x, v, label in zip(xs, vs, labels, strict=True):
            if v is None:
                if current:
                    segments.append(" ".join(current))
                current = []
                continue
            y = TOP + plot_h * (1 - min(v, top) / top)
            current.append(f"{x:.1f},{y:.1f}")
            dots.append({"x": round(x, 1), "y": round(y, 1), "label": label, "value": fmt(v)})
        if current:
            segments.append(" ".join(current))
        lines.append({"name": name, "segments": segments, "dots": dots if len(labels) <= 62 else [], "series": index})
    return {
        **_plot_frame("line", title),
        "lines": lines,
        "ticks": _ticks(top, fmt),
        "x_labels": _x_labels(labels, xs),
        "empty": not values,
    }


def hbar_chart(
    points: Sequence[tuple[str, float]], *, fmt: Callable[[float], str] = lambda v: f"{v:g}", title: str
) -> dict[str, Any]:
    """Horizontal bars with their labels on the left (routes, escalation reasons)."""
    row, label_w, width = 26, 150, WIDTH
    top = _nice_max(max((v for _, v in points), default=0))
    plot_w = width - label_w - 70
    bars = [
        {
            "y": i * row + 4,
            "width": round(max(plot_w * v / top, 1 if v else 0), 2),
            "label": label,
            "value": fmt(v),
            "text_y": i * row + 18,
            "value_x": round(label_w + plot_w * v / top + 6, 2),
        }
        for i, (label, v) in enumerate(points)
    ]
    return {
        "kind": "hbar",
        "title": title,
        "width": width,
        "height": max(len(points), 1) * row + 8,
        "label_w": label_w,
        "bars": bars,
        "empty": not points,
    }
