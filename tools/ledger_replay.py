"""Tool: replay one SKU's ledger at one location up to where system and counts part ways."""

from __future__ import annotations

import pandas as pd
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
    a balance that goes negative.

    Returns:
        The replay, or None when the SKU never touched the location.
    """
    rows = view.rows(sku=sku, location=location)
    if rows.empty:
        return None
    events: list[ReplayEvent] = []
    divergence = None
    balance = 0.0
    cols = ["txn_id", "ts", "type", "location", "sign", "eaches", "bal_after", "dest_after",
            "bal_before", "expected_qty"]
    for r in rows[[c for c in cols if c in rows]].to_dict("records"):
        at_source = r["location"] == location
        delta = r["sign"] * r["eaches"] if at_source else r["eaches"]
        balance = float(r["bal_after"] if at_source else r["dest_after"])
        counted = None
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
        events.append(ReplayEvent(txn_id=r["txn_id"], ts=iso(r["ts"]), type=r["type"],
                                  delta=float(delta or 0.0), balance=balance, counted=counted))
        if divergence is not None:
            break
    return Replay(sku=sku, location=location, events_total=len(rows), events=events[-context:],
                  divergence=divergence, final_balance=_final(rows, location))


def _final(rows: pd.DataFrame, location: str) -> float:
    last = rows.iloc[-1]
    return float(last["bal_after"] if last["location"] == location else last["dest_after"])


TOOL = ToolSpec(
    name="ledger_replay",
    description="A SKU's balance at a location replayed up to the first count/system "
                "disagreement or negative balance.",
    params=ReplayParams,
    run=lambda view, p: ledger_replay(view, p.sku, p.location, context=p.context),
)
