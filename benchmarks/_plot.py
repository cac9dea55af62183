"""A small line chart drawn with Pillow, for the figures benchmarks write into docs/ (no plotting library needed).

Not a benchmark itself.  :func:`line_chart` draws one or more panels side by side; each panel has named
series of (x, y) points, a log-scaled y axis (FD spans orders of magnitude over a run) and a legend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLOURS = ((31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207))


@dataclass
class Series:
    """One line: its name, points, colour index and whether it is dashed."""

    name: str
    points: list[tuple[float, float]]
    colour: int = 0
    dashed: bool = False


@dataclass
class Panel:
    """One chart: a title, axis labels and its lines."""

    title: str
    x_label: str
    y_label: str
    series: list[Series] = field(default_factory=list)


def _dash(draw: ImageDraw.ImageDraw, a: tuple[float, float], b: tuple[float, float], colour, width: int) -> None:
    length = math.dist(a, b)
    pieces = max(1, int(length // 8))
    for i in range(0, pieces, 2):
        t0, t1 = i / pieces, min(1.0, (i + 1) / pieces)
        draw.line([(a[0] + (b[0] - a[0]) * t0, a[1] + (b[1] - a[1]) * t0),
                   (a[0] + (b[0] - a[0]) * t1, a[1] + (b[1] - a[1]) * t1)], fill=colour, width=width)


def _draw_panel(draw: ImageDraw.ImageDraw, panel: Panel, box: tuple[int, int, int, int], font) -> None:
    left, top, right, bottom = box
    plot = (left + 60, top + 30, right - 15, bottom - 45)
    xs = [x for s in panel.series for x, _ in s.points]
    ys = [y for s in panel.series for _, y in s.points if y > 0]
    x_min, x_max = 0.0, max(xs) * 1.05
    y_lo, y_hi = math.floor(math.log10(min(ys))), math.ceil(math.log10(max(ys)))
    y_hi = max(y_hi, y_lo + 1)

    def at(x: float, y: float) -> tuple[float, float]:
        fx = (x - x_min) / (x_max - x_min)
        fy = (math.log10(max(y, 10.0 ** y_lo)) - y_lo) / (y_hi - y_lo)
        return plot[0] + fx * (plot[2] - plot[0]), plot[3] - fy * (plot[3] - plot[1])

    draw.rectangle(plot, outline=(0, 0, 0))
    draw.text((left + 60, top + 8), panel.title, fill=(0, 0, 0), font=font)
    for power in range(y_lo, y_hi + 1):
        for mantissa in (1, 2, 5):
            value = mantissa * 10.0 ** power
            if value > 10.0 ** y_hi:
                continue
            _, py = at(x_min, value)
            draw.line([(plot[0], py), (plot[2], py)], fill=(225, 225, 225))
            draw.text((plot[0] - 55, py - 6), f"{value:g}", fill=(0, 0, 0), font=font)
    ticks = sorted({x for x in xs})
    for x in ticks:
        px, _ = at(x, 10.0 ** y_lo)
        draw.line([(px, plot[3]), (px, plot[3] + 4)], fill=(0, 0, 0))
        draw.text((px - 10, plot[3] + 6), f"{x:g}", fill=(0, 0, 0), font=font)
    draw.text(((plot[0] + plot[2]) / 2 - 30, plot[3] + 24), panel.x_label, fill=(0, 0, 0), font=font)
    draw.text((left + 4, top + 8), panel.y_label, fill=(0, 0, 0), font=font)
    for index, series in enumerate(panel.series):
        colour = COLOURS[series.colour % len(COLOURS)]
        points = [at(x, y) for x, y in sorted(series.points)]
        for a, b in zip(points, points[1:]):
            (_dash if series.dashed else lambda d, p, q, c, w: d.line([p, q], fill=c, width=w))(draw, a, b, colour, 2)
        for px, py in points:
            draw.ellipse([px - 3, py - 3, px + 3, py + 3], fill=colour)
        legend_y = plot[1] + 6 + 14 * index
        if series.dashed:
            _dash(draw, (plot[2] - 190, legend_y + 6), (plot[2] - 165, legend_y + 6), colour, 2)
        else:
            draw.line([(plot[2] - 190, legend_y + 6), (plot[2] - 165, legend_y + 6)], fill=colour, width=2)
        draw.text((plot[2] - 160, legend_y), series.name, fill=(0, 0, 0), font=font)


def line_chart(panels: list[Panel], path: Path, panel_size: tuple[int, int] = (520, 360)) -> Path:
    """Draw the panels side by side into a PNG at ``path``; returns the path."""
    width, height = panel_size
    image = Image.new("RGB", (width * len(panels), height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for index, panel in enumerate(panels):
        _draw_panel(draw, panel, (index * width, 0, (index + 1) * width, height), font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
