"""The KPI page's charts, drawn with matplotlib on bare ``Figure`` objects as SVG.

Each chart takes the service's :class:`api.kpis.Kpis` (or the daily volume table) and
returns SVG bytes; an empty input draws a labelled empty chart rather than failing.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from api.kpis import Kpis
from warehouse.contract import RootCause, Severity

SEVERITY_COLOURS = {Severity.STOP.value: "#b3261e", Severity.REVIEW.value: "#d08c00",
                    Severity.INFO.value: "#2d6a4f"}
_CAUSE_ORDER = [c.value for c in RootCause]
LEGEND_PT = 12
"""Legend and tick text size: about 10 px when a 6-inch chart is shown 360 px wide."""
MONEY_COLOURS = {"open": "#d08c00", "corrected": "#2d6a4f"}


def _svg(draw: Callable[[Axes], None], *, height: float = 3.4) -> bytes:
    fig = Figure(figsize=(6.0, height), layout="constrained")
    ax = fig.subplots()
    draw(ax)
    ax.tick_params(labelsize=LEGEND_PT)
    ax.xaxis.label.set_fontsize(LEGEND_PT)
    ax.yaxis.label.set_fontsize(LEGEND_PT)
    out = io.BytesIO()
    fig.savefig(out, format="svg")
    return out.getvalue()


def _empty(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what} yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _stacked_bars(ax: Axes, table: pd.DataFrame, colours: Mapping[str, str] | None = None
                  ) -> None:
    bottom = pd.Series(0.0, index=table.index)
    for column in table.columns:
        ax.bar(table.index, table[column], bottom=bottom, label=column.replace("_", " ").lower(),
               color=(colours or {}).get(column))
        bottom += table[column]
    ax.legend(fontsize=LEGEND_PT, frameon=False, ncols=2)
    ax.grid(True, axis="y", alpha=0.3)


def volume_chart(daily: pd.DataFrame, by: str) -> bytes:
    """Tickets per day the incident happened, stacked by ``by`` (``root_cause``, ``severity``).

    Args:
        daily: one row per (day, root_cause, severity) with a ``tickets`` count.
        by: the column to stack by.
    """
    def draw(ax: Axes) -> None:
        if daily.empty:
            _empty(ax, "tickets")
            return
        table = daily.pivot_table(index="day", columns=by, values="tickets", aggfunc="sum",
                                  fill_value=0).sort_index()
        order = _CAUSE_ORDER if by == "root_cause" else list(SEVERITY_COLOURS)
        table = table[[c for c in order if c in table.columns]]
        table.index = [str(d) for d in table.index]
        _stacked_bars(ax, table, SEVERITY_COLOURS if by == "severity" else None)
        ax.set_ylabel("tickets (by event day)")
        ax.tick_params(axis="x", labelrotation=45)

    return _svg(draw)


def cause_severity_chart(kpis: Kpis) -> bytes:
    """All tickets by root cause, stacked by severity (horizontal bars)."""
    def draw(ax: Axes) -> None:
        if not kpis.by_cause_and_severity:
            _empty(ax, "tickets")
            return
        table = pd.DataFrame(kpis.by_cause_and_severity).T.fillna(0)
        table = table[[s for s in SEVERITY_COLOURS if s in table.columns]]
        table.index = [c.replace("_", " ").lower() for c in table.index]
        left = pd.Series(0.0, index=table.index)
        for column in table.columns:
            ax.barh(table.index, table[column], left=left, label=column.lower(),
                    color=SEVERITY_COLOURS[column])
            left += table[column]
        ax.invert_yaxis()
        ax.set_xlabel("tickets")
        ax.legend(fontsize=LEGEND_PT, frameon=False)
        ax.grid(True, axis="x", alpha=0.3)

    return _svg(draw)


def aging_chart(kpis: Kpis) -> bytes:
    """Open tickets by age bucket."""
    def draw(ax: Axes) -> None:
        if not kpis.open:
            _empty(ax, "open tickets")
            return
        ax.bar(list(kpis.aging), list(kpis.aging.values()), color="#0b5cad")
        ax.set_ylabel("open tickets")
        ax.set_xlabel("age")
        ax.grid(True, axis="y", alpha=0.3)

    return _svg(draw, height=3.0)


def _time_unit(longest_s: float) -> tuple[str, float]:
    """A readable unit for durations up to ``longest_s``: (name, seconds per unit)."""
    if longest_s < 2 * 3600:
        return "min", 60.0
    if longest_s < 3 * 86400:
        return "h", 3600.0
    return "d", 86400.0


def decision_time_chart(kpis: Kpis) -> bytes:
    """Median, 90th percentile and mean time from ticket to decision."""
    times = kpis.time_to_decision

    def draw(ax: Axes) -> None:
        if not times.count:
            _empty(ax, "decisions")
            return
        names = ["median", "p90", "mean"]
        seconds = [v or 0.0 for v in (times.median_s, times.p90_s, times.mean_s)]
        unit, per = _time_unit(max(seconds))
        bars = ax.bar(names, [s / per for s in seconds], color=["#0b5cad", "#5a6472", "#8fb3dc"])
        ax.bar_label(bars, fmt=f"%.1f {unit}", fontsize=8)
        ax.set_ylabel(f"time to decision ({unit})")
        ax.set_title(f"{times.count} decided ticket(s)", fontsize=9, loc="left")
        ax.grid(True, axis="y", alpha=0.3)

    return _svg(draw, height=3.0)


def precision_chart(kpis: Kpis) -> bytes:
    """Share of decided tickets approved, by root cause (as proposed, and with edits)."""
    def draw(ax: Axes) -> None:
        rows = {c: p for c, p in kpis.precision_by_cause.items() if p.precision is not None}
        if not rows:
            _empty(ax, "decisions")
            return
        names = [c.replace("_", " ").lower() for c in rows]
        ax.barh(names, [p.precision or 0 for p in rows.values()], color="#8fb3dc",
                label="approved (incl. edited)")
        ax.barh(names, [p.strict_precision or 0 for p in rows.values()], color="#0b5cad",
                height=0.45, label="approved as proposed")
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.set_xlabel("precision (approved / decided)")
        ax.legend(fontsize=LEGEND_PT, frameon=False, loc="lower right")
        ax.grid(True, axis="x", alpha=0.3)

    return _svg(draw)


def money_chart(money: Mapping[str, Any], what: str) -> bytes:
    """Value at risk still open and corrected (written back), per root cause or per week."""
    def draw(ax: Axes) -> None:
        if not money:
            _empty(ax, "money at risk")
            return
        table = pd.DataFrame({k: v.model_dump() for k, v in money.items()}).T[
            list(MONEY_COLOURS)]
        table.index = [str(k).replace("_", " ").lower() if str(k).replace("_", "").isalpha()
                       else str(k) for k in table.index]  # causes in words, weeks as they are
        _stacked_bars(ax, table, MONEY_COLOURS)
        ax.set_ylabel("value at risk ($)")
        ax.set_xlabel(what)
        ax.tick_params(axis="x", labelrotation=30)

    return _svg(draw)
