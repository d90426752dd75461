"""Tool: replay one SKU's ledger at one location up to where system and counts part ways."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from tools.result import ToolSpec, num
from tools.view import WarehouseView, cell_float, iso


class ReplayParams(BaseModel):
    """Arguments of :func:`ledger_replay`."""

    sku: str = Field(min_length=1)
    location: str = Field(min_length=1)
    context: int = Field(default=8, ge=1, le=50, description="events kept before the divergence")


class ReplayEvent(BaseModel):
    """One event at the location, with the replayed system balance after it."""

    txn_id: str
    ts: str
    type: str
    delta: float = Field(description="signed eaches this event moved at the location")
    balance: float = Field(description="replayed system eaches after the event")
    counted: float | None = Field(default=None, description="CYCLE_COUNT: eaches counted")


class Divergence(BaseModel):
    """The first point where the records disagree."""

    txn_id: str
    ts: str
    kind: str = Field(description="count_variance, count_vs_replay or negative_balance")
    system: float = Field(description="replayed system balance at that point")
    observed: float | None = Field(default=None, description="counted or shown quantity")


class Replay(BaseModel):
    """The replay: events up to (and including) the first divergence."""

    sku: str
    location: str
    events_total: int
    events: list[ReplayEvent]
    divergence: Divergence | None = None
    final_balance: float

    def facts(self) -> list[str]:
        """Evidence sentences."""
        head = (f"Ledger of {self.sku} at {self.location}: {self.events_total} events, "
                f"system balance now {num(self.final_balance)} EA")
        d = self.divergence
        if d is None:
            return [head + "; counts agree with the system throughout"]
        if d.kind == "negative_balance":
            what = f"system balance went negative ({num(d.system)} EA) at {d.txn_id}"
        elif d.kind == "count_vs_replay":
            what = (f"count {d.txn_id} was shown {num(d.observed)} but the replay gives "
                    f"{num(d.system)} EA")
        else:
            what = (f"count {d.txn_id} found {num(d.observed)} EA against {num(d.system)} "
                    f"in the system (variance {num((d.observed or 0) - d.system)})")
        return [head, f"First divergence at {self.location} on {d.ts}: {what}"]


def ledger_replay(view: WarehouseView, sku: str, location: str, *, context: int = 8
                  ) -> Replay | None:
    """Replay the system balance of ``sku`` at ``location`` until the first divergence.

    A divergence is a cycle count whose counted quantity differs from the system (or whose
    shown quantity differs from the replayed balance, a sign of missing or late events), or
    a balance that goes negative. The first one is found over the SKU's column arrays at
    once; events are built only for the ``context`` rows kept before it.

    Returns:
        The replay, or None when the SKU never touched the location.
    """
    pos = view.positions(sku=sku, location=location)
    if pos is None or not len(pos):
        return None
    col = {c: view.column(c)[pos] for c in _COLS if c in view.ledger}
    nan = np.full(len(pos), np.nan)
    at_source = col["location"] == location
    balance = np.where(at_source, col["bal_after"], col["dest_after"]).astype(float)
    is_count = (col["type"] == "CYCLE_COUNT") & at_source
    shown = col.get("expected_qty", nan).astype(float)
    system = col["bal_before"].astype(float)
    counted = col["eaches"].astype(float)
    with np.errstate(invalid="ignore"):
        off_shown = ~np.isnan(shown) & (np.abs(shown - system) > 1e-9)
        off_count = ~np.isnan(counted) & (
            np.abs(counted - np.where(np.isnan(shown), system, shown)) > 1e-9)
        diverges = np.where(is_count, off_shown | off_count, balance < -1e-9)
    hits = np.flatnonzero(diverges)
    stop = int(hits[0]) + 1 if len(hits) else len(pos)
    events: list[ReplayEvent] = []
    divergence = None
    start = max(stop - context, 0)
    # timestamps only for the rows kept: a whole column of them as objects costs 100+ ms
    stamps = view.ledger["ts"].array[pos[start:stop]]
    for i, ts in zip(range(start, stop), stamps, strict=True):
        r = {c: v[i] for c, v in col.items()} | {"ts": ts}
        divergence, event = _event(r, location, float(balance[i]), bool(at_source[i]))
        events.append(event)
    last = len(pos) - 1
    return Replay(sku=sku, location=location, events_total=len(pos), events=events,
                  divergence=divergence, final_balance=float(
                      col["bal_after"][last] if at_source[last] else col["dest_after"][last]))


_COLS = ("txn_id", "type", "location", "sign", "eaches", "bal_after", "dest_after",
         "bal_before", "expected_qty")


def _event(r: dict[str, Any], location: str, balance: float, at_source: bool
           ) -> tuple[Divergence | None, ReplayEvent]:
    """One replayed row: its divergence (None when the records agree there) and its event."""
    delta = r["sign"] * r["eaches"] if at_source else r["eaches"]
    counted = None
    divergence = None
    if r["type"] == "CYCLE_COUNT" and at_source:
        counted = cell_float(r["eaches"])
        shown = cell_float(r.get("expected_qty"))
        system = float(r["bal_before"])
        if shown is not None and abs(shown - system) > 1e-9:
            divergence = Divergence(txn_id=r["txn_id"], ts=iso(r["ts"]),
                                    kind="count_vs_replay", system=system, observed=shown)
        elif counted is not None and abs(counted - (shown if shown is not None
                                                     else system)) > 1e-9:
            divergence = Divergence(txn_id=r["txn_id"], ts=iso(r["ts"]),
                                    kind="count_variance", system=shown if shown is not None
                                    else system, observed=counted)
    elif balance < -1e-9:
        divergence = Divergence(txn_id=r["txn_id"], ts=iso(r["ts"]), kind="negative_balance",
                                system=balance)
    return divergence, ReplayEvent(txn_id=r["txn_id"], ts=iso(r["ts"]), type=r["type"],
                                   delta=float(delta or 0.0), balance=balance, counted=counted)


TOOL = ToolSpec(
    name="ledger_replay",
    description="A SKU's balance at a location replayed up to the first count/system "
                "disagreement or negative balance.",
    params=ReplayParams,
    run=lambda view, p: ledger_replay(view, p.sku, p.location, context=p.context),
)
