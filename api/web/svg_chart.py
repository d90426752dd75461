"""A small SVG writer for the ticket plot: step lines, markers, axes, written as text.

The ticket page asks for its plot on every open; matplotlib's layout and tick machinery
took 1-3 s per figure on a busy machine, which alone broke the 300 ms target. This draws
the same panels (balance step line, flagged circles, count diamonds, divergence line, a
legend, time and quantity ticks) directly as SVG elements in a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

import pandas as pd

WIDTH = 800
PANEL_H = 210
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 56, 16, 26, 34
COLOURS = {"line": "#0b5cad", "count": "#2d6a4f", "flag": "#b3261e", "diverge": "#f5a300",
           "grid": "#e3e7ec", "text": "#1b1f24", "muted": "#5a6472"}
Y_TICKS = 4
X_TICKS = 5


@dataclass
class Panel:
    """One panel's content: title, balance steps, marks, and the legend it needs."""

    title: str
    steps: list[tuple[pd.Timestamp, float]] = field(default_factory=list)
    counts: list[tuple[pd.Timestamp, float]] = field(default_factory=list)
    flagged: list[tuple[pd.Timestamp, float]] = field(default_factory=list)
    divergence: pd.Timestamp | None = None
    note: str | None = None


def _nice_step(span: float, ticks: int) -> float:
    raw = max(span, 1e-9) / ticks
    magnitude = 10 ** int(f"{raw:e}".split("e")[1])
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def _fmt(value: float) -> str:
    return f"{value:g}"


def _legend(panel: Panel, x: float, y: float) -> list[str]:
    items = [("line", "system balance")]
    if panel.counts:
        items.append(("count", "cycle count (counted)"))
    if panel.flagged:
        items.append(("flag", "flagged transaction"))
    if panel.divergence is not None:
        items.append(("diverge", "first divergence"))
    out, cursor = [], x
    for key, text in items:
        colour = COLOURS[key]
        if key == "line":
            out.append(f'<line x1="{cursor}" y1="{y}" x2="{cursor + 14}" y2="{y}" '
                       f'stroke="{colour}" stroke-width="2"/>')
        elif key == "count":
            out.append(f'<rect x="{cursor + 3}" y="{y - 4}" width="8" height="8" fill="{colour}" '
                       f'transform="rotate(45 {cursor + 7} {y})"/>')
        elif key == "flag":
            out.append(f'<circle cx="{cursor + 7}" cy="{y}" r="5" fill="none" stroke="{colour}" '
                       f'stroke-width="2"/>')
        else:
            out.append(f'<line x1="{cursor + 7}" y1="{y - 6}" x2="{cursor + 7}" y2="{y + 6}" '
                       f'stroke="{colour}" stroke-width="2" stroke-dasharray="3 2"/>')
        out.append(f'<text x="{cursor + 18}" y="{y + 4}" font-size="11" '
                   f'fill="{COLOURS["text"]}">{escape(text)}</text>')
        cursor += 26 + 6.2 * len(text)
    return out


def render_panels(panels: list[Panel], start: pd.Timestamp, end: pd.Timestamp) -> bytes:
    """Panels stacked on one time axis from ``start`` to ``end``, as SVG bytes."""
    height = MARGIN_T + len(panels) * PANEL_H + 10
    parts = [f'<?xml version="1.0" encoding="utf-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
             f'font-family="DejaVu Sans, sans-serif">',
             f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>']
    span_s = max((end - start).total_seconds(), 1.0)
    plot_w = WIDTH - MARGIN_L - MARGIN_R

    def x_of(ts: pd.Timestamp) -> float:
        return round(MARGIN_L + (ts - start).total_seconds() / span_s * plot_w, 1)

    for i, panel in enumerate(panels):
        top = MARGIN_T + i * PANEL_H
        plot_h = PANEL_H - MARGIN_T - MARGIN_B
        y0 = top + MARGIN_T - 8
        parts.append(f'<text x="{MARGIN_L}" y="{top + 10}" font-size="13" font-weight="bold" '
                     f'fill="{COLOURS["text"]}">{escape(panel.title)}</text>')
        if panel.note:
            parts.append(f'<text x="{WIDTH / 2}" y="{y0 + plot_h / 2}" text-anchor="middle" '
                         f'font-size="13" fill="{COLOURS["muted"]}">{escape(panel.note)}</text>')
            continue
        values = [v for _, v in panel.steps + panel.counts] + [0.0]
        low, high = min(values), max(values)
        step = _nice_step(high - low, Y_TICKS)
        low, high = step * (low // step), step * (-(-high // step))
        if high == low:
            high = low + step

        def y_of(value: float, low: float = low, high: float = high, y0: float = y0,
                 plot_h: float = plot_h) -> float:
            return round(y0 + plot_h - (value - low) / (high - low) * plot_h, 1)

        tick = low
        while tick <= high + 1e-9:
            y = y_of(tick)
            parts.append(f'<line x1="{MARGIN_L}" y1="{y}" x2="{WIDTH - MARGIN_R}" y2="{y}" '
                         f'stroke="{COLOURS["grid"]}"/>'
                         f'<text x="{MARGIN_L - 6}" y="{y + 4}" text-anchor="end" font-size="11" '
                         f'fill="{COLOURS["muted"]}">{_fmt(tick)}</text>')
            tick += step
        parts.append(f'<line x1="{MARGIN_L}" y1="{y_of(0)}" x2="{WIDTH - MARGIN_R}" '
                     f'y2="{y_of(0)}" stroke="#888" stroke-width="1"/>')
        parts.append(f'<text x="14" y="{y0 + plot_h / 2}" font-size="11" '
                     f'fill="{COLOURS["muted"]}" transform="rotate(-90 14 {y0 + plot_h / 2})" '
                     f'text-anchor="middle">eaches</text>')
        if panel.steps:
            path = [f"M{x_of(panel.steps[0][0])},{y_of(panel.steps[0][1])}"]
            for ts, value in panel.steps[1:]:
                path.append(f"H{x_of(ts)}V{y_of(value)}")
            path.append(f"H{x_of(end)}")
            parts.append(f'<path d="{"".join(path)}" fill="none" stroke="{COLOURS["line"]}" '
                         f'stroke-width="2"/>')
        for ts, value in panel.counts:
            cx, cy = x_of(ts), y_of(value)
            parts.append(f'<rect x="{cx - 4}" y="{cy - 4}" width="8" height="8" '
                         f'fill="{COLOURS["count"]}" transform="rotate(45 {cx} {cy})">'
                         f'<title>counted {_fmt(value)}</title></rect>')
        for ts, value in panel.flagged:
            parts.append(f'<circle cx="{x_of(ts)}" cy="{y_of(value)}" r="6" fill="none" '
                         f'stroke="{COLOURS["flag"]}" stroke-width="2.2"/>')
        if panel.divergence is not None and start <= panel.divergence <= end:
            x = x_of(panel.divergence)
            parts.append(f'<line x1="{x}" y1="{y0}" x2="{x}" y2="{y0 + plot_h}" '
                         f'stroke="{COLOURS["diverge"]}" stroke-width="2.5" '
                         f'stroke-dasharray="6 4"><title>first divergence</title></line>')
        for k in range(X_TICKS + 1):
            ts = start + (end - start) * (k / X_TICKS)
            x = x_of(ts)
            anchor = "start" if k == 0 else "end" if k == X_TICKS else "middle"
            parts.append(f'<line x1="{x}" y1="{y0 + plot_h}" x2="{x}" y2="{y0 + plot_h + 4}" '
                         f'stroke="#888"/><text x="{x}" y="{y0 + plot_h + 16}" font-size="11" '
                         f'text-anchor="{anchor}" fill="{COLOURS["muted"]}">'
                         f'{ts.strftime("%m-%d %H:%M")}</text>')
        parts += _legend(panel, MARGIN_L + 24 + 8.4 * len(panel.title), top + 6)
    parts.append(f'<text x="{WIDTH - MARGIN_R}" y="{height - 2}" text-anchor="end" '
                 f'font-size="10" fill="{COLOURS["muted"]}">time (UTC)</text></svg>')
    return "\n".join(parts).encode()
