"""Tool: cycle-count history of a SKU (optionally at one location)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from tools.result import ToolSpec, num
from tools.view import WarehouseView, cell_float, cell_str, iso, row_dicts


class CountParams(BaseModel):
    """Arguments of :func:`count_history`."""

    sku: str = Field(min_length=1)
    location: str | None = None
    limit: int = Field(default=20, ge=1, le=200)


class CountRow(BaseModel):
    """One cycle count."""

    txn_id: str
    ts: str
    location: str
    counted: float | None
    system: float | None = Field(description="the system quantity shown at count time")
    variance: float | None
    user_id: str | None = None


class CountHistory(BaseModel):
    """Counts of a SKU with a summary of their variances."""

    sku: str
    location: str | None = None
    counts_total: int
    with_variance: int
    short: int
    over: int
    net_variance: float
    locations_short: int
    locations_over: int
    counts: list[CountRow]

    def facts(self) -> list[str]:
        """Evidence sentences."""
        where = f" at {self.location}" if self.location else ""
        out = [f"Cycle counts of {self.sku}{where}: {self.counts_total} counts, "
               f"{self.with_variance} with a variance ({self.short} short, {self.over} over, "
               f"net {num(self.net_variance)} EA)"]
        if not self.location and (self.locations_short > 1 or self.locations_over > 1):
            out.append(f"{self.sku} counted short in {self.locations_short} and over in "
                       f"{self.locations_over} different locations")
        return out


def count_history(view: WarehouseView, sku: str, *, location: str | None = None,
                  limit: int = 20) -> CountHistory | None:
    """The cycle counts of ``sku`` (at ``location`` if given), latest ``limit`` listed.

    Returns:
        The history, or None when the SKU was never counted there.
    """
    rows = view.rows(sku=sku, location=location, type="CYCLE_COUNT")
    if location:
        rows = rows[rows["location"] == location]
    if rows.empty:
        return None
    var, where = rows["var"].to_numpy(dtype=float), rows["location"].to_numpy(dtype=object)
    short, over = var < 0, var > 0  # NaN (no variance) is neither
    return CountHistory(
        sku=sku, location=location, counts_total=len(rows),
        with_variance=int((short | over).sum()), short=int(short.sum()), over=int(over.sum()),
        net_variance=float(np.nansum(var[short | over])),
        locations_short=_distinct(where[short]), locations_over=_distinct(where[over]),
        counts=[CountRow(txn_id=r["txn_id"], ts=iso(r["ts"]), location=r["location"],
                         counted=cell_float(r["qty"]), system=cell_float(r.get("expected_qty")),
                         variance=cell_float(r["var"]), user_id=cell_str(r.get("user_id")))
                for r in row_dicts(rows.tail(limit))],
    )


def _distinct(values: np.ndarray) -> int:
    """How many different values, missing ones not counted (``Series.nunique``)."""
    return len({v for v in values.tolist() if not pd.isna(v)})


TOOL = ToolSpec(
    name="count_history",
    description="Cycle counts of a SKU (optionally at one location): counted vs system, "
                "how many short or over and in how many locations.",
    params=CountParams,
    run=lambda view, p: count_history(view, p.sku, location=p.location, limit=p.limit),
)
