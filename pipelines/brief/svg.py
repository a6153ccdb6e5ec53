"""Inline SVG charts for the country brief: no JavaScript, no network, readable when printed.

One function, `render()`, draws a time-series chart with a title, a y-axis unit, a legend, NULL gaps (unknown
is never drawn as zero), a shaded "no data after" region where coverage ends, amber partial periods (a year
the source covers only in part), numbered event markers (agreements) and an optional band of categories (model
type) under the plot. Event badges sit in one row above the plot, spread so that no two overlap (each joined to
its date by a leader line); only when more badges than fit in a row exist do they wrap to further rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape

WIDTH, HEIGHT = 820, 320  # a second legend row makes the plot shorter, never the chart taller
LEFT, RIGHT, PLOT_TOP, BOTTOM = 78, 24, 62, 46
BAND_HEIGHT = 14
PARTIAL_FILL = "#f6e3a8"  # a year the source covers only in part
BADGE_R = 7
BADGE_GAP = 2 * BADGE_R + 3  # centre-to-centre distance of two badges in one row: they never touch


@dataclass
class Series:
    label: str
    points: list[tuple[float, float | None]]  # (x, y); y None = unknown, drawn as a gap
    color: str
    kind: str = "line"  # "line" or "bar" (bars of several series overlay: draw the larger one first)
    dash: str | None = None

    def known(self) -> list[tuple[float, float]]:
        return [(x, y) for x, y in self.points if y is not None and not (isinstance(y, float) and math.isnan(y))]


@dataclass
class Event:
    x: float
    label: str  # short marker label, e.g. "1"
    title: str  # tooltip


@dataclass
class Band:
    """Categories per x under the plot (e.g. model type per year), with their colours."""

    values: list[tuple[float, str]]
    colors: dict[str, str]
    label: str


@dataclass
class Chart:
    chart_id: str
    title: str
    y_unit: str
    series: list[Series]
    x_domain: tuple[int, int]
    events: list[Event] = field(default_factory=list)
    coverage_end: int | None = None
    y_domain: tuple[float, float] | None = None
    band: Band | None = None
    y_format: str | None = None  # None: as many decimals as the tick step needs
    partial: list[int] = field(default_factory=list)  # years the source covers only in part (shaded amber, labelled)


def spread(xs: list[float], low: float, high: float, gap: float) -> list[list[float]]:
    """Badge centres for sorted xs: rows of positions inside [low, high], neighbours at least `gap` apart, each as
    close to its own x as the others allow. More badges than one row holds go on to the next row."""
    per_row = max(int((high - low) // gap) + 1, 1)
    rows = []
    for start in range(0, len(xs), per_row):
        chunk = xs[start : start + per_row]
        placed: list[float] = []
        for x in chunk:  # left to right: push right past the previous badge
            placed.append(max(x, low, placed[-1] + gap) if placed else max(x, low))
        if placed and placed[-1] > high:  # right to left: pull back inside the plot, keeping the gap
            placed[-1] = high
            for i in range(len(placed) - 2, -1, -1):
                placed[i] = min(placed[i], placed[i + 1] - gap)
        rows.append(placed)
    return rows


def nice_step(span: float, target: int = 5) -> float:
    raw = span / max(target, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for multiple in (1, 2, 2.5, 5, 10):
        if raw <= multiple * magnitude:
            return multiple * magnitude
    return 10 * magnitude


def y_ticks(low: float, high: float) -> list[float]:
    if high <= low:
        high = low + 1
    step = nice_step(high - low)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(ticks[-1] + step)
    return ticks


def render(chart: Chart) -> str:
    """The chart as an <svg> element (a string)."""
    x0, x1 = chart.x_domain
    # legend items flow left to right and wrap; the plot starts below the last legend row
    # a legend entry's key: a series, None for the agreement marker, "partial" for the partial-year swatch
    items: list[tuple[str, Series | str | None]] = [(s.label, s) for s in chart.series] + (
        [("agreement (number = table below)", None)] if chart.events else []
    )
    x_in = [e for e in sorted(chart.events, key=lambda e: e.x) if x0 - 0.5 <= e.x <= x1 + 0.5]
    partial = sorted({int(p) for p in chart.partial if x0 <= p <= x1})
    if partial:
        items.append(("partial year (incomplete data)", "partial"))
    legend: list[tuple[float, int, str, Series | str | None]] = []
    lx: float = LEFT
    row = 0
    for label, s in items:
        width = 26 + 6.6 * len(label)
        if lx + width > WIDTH - RIGHT and lx > LEFT:
            lx, row = LEFT, row + 1
        legend.append((lx, 36 + 16 * row, label, s))
        lx += width + 12
    badge_rows = spread([0.0] * len(x_in), LEFT + BADGE_R, WIDTH - RIGHT - BADGE_R, BADGE_GAP) if x_in else []
    top = PLOT_TOP + 16 * row + (BADGE_GAP + 1) * max(len(badge_rows) - 1, 0)
    plot_bottom = HEIGHT - BOTTOM - (BAND_HEIGHT + 8 if chart.band else 0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, plot_bottom - top
    known = [y for s in chart.series for _, y in s.known() if x0 - 0.5 <= _ <= x1 + 0.5]
    if chart.y_domain:
        low, high = chart.y_domain
        ticks = y_ticks(low, high)
        ticks = [t for t in ticks if low <= t <= high] or [low, high]
    else:
        low, high = min([0.0, *known]), max([0.0, *known])
        ticks = y_ticks(low, high if high > low else low + 1)
        low, high = ticks[0], ticks[-1]

    y_format = chart.y_format
    if y_format is None:
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
        decimals = next((d for d in range(5) if abs(round(step, d) - step) < 1e-9), 4)
        y_format = f"{{:,.{decimals}f}}"

    def sx(x: float) -> float:
        return LEFT + (x - (x0 - 0.5)) / ((x1 + 0.5) - (x0 - 0.5)) * plot_w

    def sy(y: float) -> float:
        return top + (high - y) / (high - low) * plot_h

    out = [
        f'<svg class="chart" id="{escape(chart.chart_id)}" data-chart="{escape(chart.chart_id)}" '
        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(chart.title)}">',
        f"<title>{escape(chart.title)}</title>",
        f'<text class="chart-title" x="{LEFT}" y="20" font-size="15" font-weight="bold">{escape(chart.title)}</text>',
    ]
    for lx, ly, label, s in legend:
        if s is None:
            out.append(
                f'<line x1="{lx + 8}" y1="{ly - 6}" x2="{lx + 8}" y2="{ly + 6}" stroke="#7a4b00" '
                'stroke-dasharray="3,2"/>'
            )
        elif isinstance(s, str):  # "partial"
            out.append(
                f'<rect x="{lx}" y="{ly - 6}" width="14" height="12" fill="{PARTIAL_FILL}" '
                'stroke="#b58900" stroke-dasharray="2,2"/>'
            )
        elif s.kind == "bar":
            out.append(f'<rect x="{lx}" y="{ly - 5}" width="14" height="10" fill="{s.color}"/>')
        else:
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            out.append(
                f'<line x1="{lx}" y1="{ly}" x2="{lx + 18}" y2="{ly}" stroke="{s.color}" stroke-width="2.5"{dash}/>'
            )
        out.append(f'<text class="legend" x="{lx + 22}" y="{ly + 4}" font-size="11.5">{escape(label)}</text>')
    # grid and y axis
    for t in ticks:
        y = sy(t)
        out.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{LEFT + plot_w}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{escape(y_format.format(t))}</text>'
        )
    out.append(
        f'<text class="axis-unit" x="16" y="{top + plot_h / 2:.1f}" font-size="11.5" text-anchor="middle" '
        f'transform="rotate(-90 16 {top + plot_h / 2:.1f})">{escape(chart.y_unit)}</text>'
    )
    # x axis: a tick every 5 years
    out.append(f'<line x1="{LEFT}" y1="{plot_bottom}" x2="{LEFT + plot_w}" y2="{plot_bottom}" stroke="#555"/>')
    for year in range(x0 + (-x0) % 5, x1 + 1, 5):
        x = sx(year)
        out.append(f'<line x1="{x:.1f}" y1="{plot_bottom}" x2="{x:.1f}" y2="{plot_bottom + 4}" stroke="#555"/>')
        out.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18 if not chart.band else plot_bottom + 16}" font-size="11" '
            f'text-anchor="middle">{year}</text>'
        )
    # coverage: shade the years after the last data year
    if chart.coverage_end is not None and chart.coverage_end < x1:
        start = sx(chart.coverage_end + 0.5)
        out.append(
            f'<rect class="coverage-end" x="{start:.1f}" y="{top}" width="{LEFT + plot_w - start:.1f}" '
            f'height="{plot_h}" fill="#f1f1f1" stroke="#bbb" stroke-dasharray="4,3"/>'
        )
        out.append(
            f'<text class="coverage-note" x="{WIDTH - RIGHT}" y="20" font-size="11.5" fill="#555" text-anchor="end">'
            f"data end {chart.coverage_end} (shaded: no data)</text>"
        )
    # partial years: shaded amber and labelled, so a drop in an incomplete year is not read as a fall
    for year in partial:
        left, right = sx(year - 0.5), sx(year + 0.5)
        out.append(
            f'<rect class="partial-period" data-year="{year}" x="{left:.1f}" y="{top}" width="{right - left:.1f}" '
            f'height="{plot_h}" fill="{PARTIAL_FILL}" fill-opacity="0.8" stroke="#b58900" stroke-dasharray="2,2">'
            f"<title>{year}: partial year, the source covers only part of it</title></rect>"
        )
        out.append(
            f'<text class="partial-label" x="{(left + right) / 2:.1f}" y="{plot_bottom - 4}" font-size="9" '
            f'fill="#7a5c00" text-anchor="middle">partial</text>'
        )
    if low < 0 < high:
        out.append(f'<line x1="{LEFT}" y1="{sy(0):.1f}" x2="{LEFT + plot_w}" y2="{sy(0):.1f}" stroke="#888"/>')
    # data
    bar_w = max(plot_w / (x1 - x0 + 1) * 0.72, 1.5)
    for s in chart.series:
        if s.kind == "bar":
            for x, y in s.known():
                if not x0 - 0.5 <= x <= x1 + 0.5:
                    continue
                bar_top, bar_bottom = sorted((sy(y), sy(max(low, 0))))
                out.append(
                    f'<rect class="datum" x="{sx(x) - bar_w / 2:.1f}" y="{bar_top:.1f}" width="{bar_w:.1f}" '
                    f'height="{max(bar_bottom - bar_top, 0.8):.1f}" fill="{s.color}"><title>{escape(s.label)}, {x:g}: '
                    f"{escape(y_format.format(y))}</title></rect>"
                )
            continue
        segment: list[str] = []
        segments: list[list[str]] = []
        for x, maybe_y in sorted(s.points, key=lambda p: p[0]):
            if not x0 - 0.5 <= x <= x1 + 0.5:
                continue
            if maybe_y is None or (isinstance(maybe_y, float) and math.isnan(maybe_y)):
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{sx(x):.1f},{sy(maybe_y):.1f}")
        if segment:
            segments.append(segment)
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        for seg in segments:
            if len(seg) == 1:
                dot_x, dot_y = seg[0].split(",")
                out.append(f'<circle class="datum" cx="{dot_x}" cy="{dot_y}" r="2.6" fill="{s.color}"/>')
            else:
                out.append(
                    f'<polyline class="datum" fill="none" stroke="{s.color}" stroke-width="2.2"{dash} '
                    f'points="{" ".join(seg)}"/>'
                )
        for x, y in s.known():
            if x0 - 0.5 <= x <= x1 + 0.5:
                out.append(
                    f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="6" fill="transparent">'
                    f"<title>{escape(s.label)}, {x:g}: {escape(y_format.format(y))}</title></circle>"
                )
    # agreements: a dashed line at the date, a numbered badge above the plot (spread so none overlap) and a leader
    xs = [sx(e.x) for e in x_in]
    rows = spread(xs, LEFT + BADGE_R, WIDTH - RIGHT - BADGE_R, BADGE_GAP)
    badges = [(bx, r) for r, placed in enumerate(rows) for bx in placed]
    for event, x, (bx, level) in zip(x_in, xs, badges):
        cy = top - BADGE_R - 3 - (BADGE_GAP + 1) * (len(rows) - 1 - level)
        leader = (
            f'<line x1="{bx:.1f}" y1="{cy + BADGE_R:.1f}" x2="{x:.1f}" y2="{top}" stroke="#7a4b00"/>'
            if abs(bx - x) > 0.5 or level < len(rows) - 1
            else ""
        )
        out.append(
            f'<g class="event"><line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{plot_bottom}" stroke="#7a4b00" '
            f'stroke-dasharray="3,2"/>{leader}<circle class="badge" cx="{bx:.1f}" cy="{cy:.1f}" r="{BADGE_R}" '
            f'fill="#7a4b00"/><text x="{bx:.1f}" y="{cy + 3.5:.1f}" font-size="9.5" fill="#fff" text-anchor="middle">'
            f"{escape(event.label)}</text>"
            f"<title>{escape(event.title)}</title></g>"
        )
    # category band (e.g. model type per year)
    if chart.band:
        band_y = plot_bottom + 24
        for x, category in chart.band.values:
            if x0 <= x <= x1 and category in chart.band.colors:
                out.append(
                    f'<rect x="{sx(x - 0.5):.1f}" y="{band_y}" width="{sx(x + 0.5) - sx(x - 0.5):.1f}" '
                    f'height="{BAND_HEIGHT}" fill="{chart.band.colors[category]}"><title>{x:g}: '
                    f"{escape(category)}</title></rect>"
                )
        out.append(
            f'<text x="{LEFT - 6}" y="{band_y + 11}" font-size="10.5" '
            f'text-anchor="end">{escape(chart.band.label)}</text>'
        )
    out.append("</svg>")
    return "".join(out)
