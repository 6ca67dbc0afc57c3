"""Line charts as inline SVG, drawn on the server: no script, no network, no library.

`line_chart` takes named series of (x, y) points and returns escaped-safe SVG markup
(every label passes through `html.escape`); a series may have a band (x, low, high) drawn
under it in its colour (mean ± std), and may be dashed (a reference line). It does not
read jobs or metrics.
"""

from __future__ import annotations

import html
import math
from collections.abc import Collection, Mapping, Sequence

from markupsafe import Markup

COLORS = ("#2563eb", "#dc2626", "#16a34a", "#9333ea")
Point = tuple[float, float]
Band = tuple[float, float, float]  # x, low, high


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = 10 ** math.floor(math.log10((high - low) / count))
    for factor in (1, 2, 5, 10):
        if (high - low) / (step * factor) <= count:
            step *= factor
            break
    start = math.ceil(low / step) * step
    return [start + i * step for i in range(int((high - start) / step) + 1)]


def _label(value: float) -> str:
    return f"{value:.3g}"


def line_chart(
    series: Mapping[str, Sequence[Point]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 640,
    height: int = 260,
    bands: Mapping[str, Sequence[Band]] | None = None,
    dashed: Collection[str] = (),
) -> Markup:
    """An SVG chart of `series` (name -> points); empty series are left out, and with no
    points at all the chart says so. `bands` (series name -> (x, low, high)) are shaded
    under their series; the series named in `dashed` are drawn dashed."""
    drawn = {name: sorted(points) for name, points in series.items() if points}
    shaded = {name: sorted(b) for name, b in (bands or {}).items() if b and name in drawn}
    esc = html.escape
    head = (
        f'<svg class="chart" role="img" aria-label="{esc(title)}" viewBox="0 0 {width} {height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{esc(title)}</title>'
    )
    if not drawn:
        return Markup(
            head + f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">'
            "no points yet</text></svg>"
        )
    left, right, top, bottom = 56, 16, 28, 40
    xs = [x for pts in drawn.values() for x, _ in pts]
    ys = [y for pts in drawn.values() for _, y in pts]
    ys += [y for b in shaded.values() for _, low, high in b for y in (low, high)]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        y0, y1 = y0 - abs(y0 or 1) * 0.1, y1 + abs(y1 or 1) * 0.1

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y: float) -> float:
        return height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)

    parts = [head, f'<text x="{left}" y="16" class="chart-title">{esc(title)}</text>']
    for t in _ticks(y0, y1):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end">{_label(t)}</text>'
        )
    for t in _ticks(x0, x1):
        parts.append(
            f'<text x="{sx(t):.1f}" y="{height - bottom + 16}" text-anchor="middle">{_label(t)}</text>'
        )
    parts.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 6}" text-anchor="middle">{esc(x_label)}</text>'
        f'<text x="14" y="{(top + height - bottom) / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(top + height - bottom) / 2})">{esc(y_label)}</text>'
    )
    for i, (name, pts) in enumerate(drawn.items()):
        color = COLORS[i % len(COLORS)]
        if name in shaded:
            edge = [(x, high) for x, _, high in shaded[name]]
            edge += [(x, low) for x, low, _ in reversed(shaded[name])]
            outline = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in edge)
            parts.append(
                f'<polygon points="{outline}" fill="{color}" fill-opacity="0.18" stroke="none" '
                f'class="band" data-series="{esc(name)}"/>'
            )
        d = " ".join(
            f"{'M' if j == 0 else 'L'}{sx(x):.1f},{sy(y):.1f}" for j, (x, y) in enumerate(pts)
        )
        parts.append(
            f'<path d="{d}" fill="none" stroke="{color}" stroke-width="2" class="series" '
            + ('stroke-dasharray="6 4" ' if name in dashed else "")
            + f'data-series="{esc(name)}"/>'
        )
        if len(pts) == 1:
            parts.append(
                f'<circle cx="{sx(pts[0][0]):.1f}" cy="{sy(pts[0][1]):.1f}" r="3" fill="{color}"/>'
            )
        parts.append(
            f'<text x="{width - right - 4}" y="{top + 14 * (i + 1)}" text-anchor="end" '
            f'fill="{color}">{esc(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
