"""Bar charts as SVG, drawn on the server (no JavaScript): the geometry here, the markup in
stats/_chart.html. Each chart has a title and a description for assistive technology, and the
table beside it on the page carries the same figures."""

from __future__ import annotations

import math
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 36, 34
COLOURS = ("#1d4f73", "#00703c")
TARGET_COLOUR = "#d4351c"


@dataclass(frozen=True)
class Series:
    name: str
    values: list[float | None]  # None: nothing to draw (no SIPs, or suppressed)
    suppressed: list[bool]


def _nice_ceiling(value: float) -> int:
    """A round number at or above `value` for the top of the axis (1, 2, 5 × 10^n)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return int(step * power)
    return int(10 * power)


def bar_chart(
    *,
    key: str,
    title: str,
    description: str,
    labels: list[str],
    series: list[Series],
    target: float | None = None,
    target_label: str = "",
) -> dict:
    """What stats/_chart.html draws: bars per label, grouped by series, an axis from 0, and a
    dashed target line if given."""
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    highest = max(
        [value for one in series for value in one.values if value is not None] + [target or 0, 1]
    )
    top = _nice_ceiling(highest * 1.05)

    def y(value: float) -> float:
        return round(TOP + plot_height - plot_height * value / top, 1)

    count = max(len(labels), 1)
    group = plot_width / count
    bar = group * 0.7 / max(len(series), 1)
    bars, marks = [], []
    for index, one in enumerate(series):
        colour = COLOURS[index % len(COLOURS)]
        for position, (value, hidden) in enumerate(zip(one.values, one.suppressed, strict=True)):
            x = round(LEFT + group * position + group * 0.15 + bar * index, 1)
            if value is not None:
                bars.append(
                    {
                        "x": x,
                        "y": y(value),
                        "width": round(bar, 1),
                        "height": round(TOP + plot_height - y(value), 1),
                        "colour": colour,
                        "label": f"{one.name}, {labels[position]}: {value:g}",
                    }
                )
            elif hidden:
                marks.append({"x": round(x + bar / 2, 1), "y": TOP + plot_height - 4})
    every = max(1, math.ceil(count / 12))
    axis = [
        {"x": round(LEFT + group * position + group / 2, 1), "text": label}
        for position, label in enumerate(labels)
        if position % every == 0
    ]
    ticks = [{"y": y(value), "text": f"{value:g}"} for value in (0, top / 2, top)]
    legend = [
        {"x": LEFT + 170 * index, "colour": COLOURS[index % len(COLOURS)], "name": one.name}
        for index, one in enumerate(series)
    ]
    return {
        "key": key,
        "title": title,
        "description": description,
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "baseline": TOP + plot_height,
        "label_y": HEIGHT - 12,
        "bars": bars,
        "marks": marks,
        "axis": axis,
        "ticks": ticks,
        "legend": legend,
        "target": (
            {"y": y(target), "label": target_label, "label_y": y(target) - 4}
            if target is not None
            else None
        ),
    }
