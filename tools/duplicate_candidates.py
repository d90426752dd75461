"""Tool: transactions that may duplicate a given one (same payload, or a rescan seconds apart)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from tools.result import ToolSpec, num
from tools.view import WarehouseView, iso
from warehouse.rescans import RESCAN_S


class DuplicateParams(BaseModel):
    """Arguments of :func:`duplicate_candidates`."""

    txn_id: str = Field(min_length=1)
    window_s: float = Field(default=RESCAN_S, gt=0, le=3600)


class Duplicate(BaseModel):
    """Another transaction that may be the same event."""

    txn_id: str
    ts: str
    kind: str = Field(description="same_payload (integration) or rescan (one device, seconds)")
    gap_s: float


class Duplicates(BaseModel):
    """Candidates for one transaction, earliest first."""

    txn_id: str
    candidates: list[Duplicate]

    def facts(self) -> list[str]:
        """Evidence sentences."""
        out = []
        for c in self.candidates[:3]:
            if c.kind == "same_payload":
                out.append(f"{self.txn_id} and {c.txn_id} carry an identical payload (time, type, "
                           f"SKU, quantity, locations, user) under two ids")
            else:
                out.append(f"{self.txn_id} and {c.txn_id}: same SKU, type and quantity scanned on "
                           f"one device {num(c.gap_s, 1)} s apart")
        return out


def duplicate_candidates(view: WarehouseView, txn_id: str, *, window_s: float = RESCAN_S
                         ) -> Duplicates | None:
    """Rows with the same payload as ``txn_id`` under another id, or rescans within a window.

    Returns:
        The candidates, or None when ``txn_id`` is unknown or nothing matches.
    """
    at = view.position(txn_id)
    if at is None:
        return None
    ids, ts = view.column("txn_id"), view.ledger["ts"]
    same = view.same_payload_positions(txn_id)
    out = [Duplicate(txn_id=ids[p], ts=iso(ts.iat[p]), kind="same_payload", gap_s=0.0)
           for p in same.tolist()]
    device = view.column("device_id")[at]
    if isinstance(device, str) and device:
        pos = view.positions(sku=view.column("sku")[at], device_id=device,
                             type=view.column("type")[at])
        assert pos is not None
        near = pos[view.column("qty")[pos] == view.column("qty")[at]]
        gap = (ts.iloc[near] - ts.iat[at]).dt.total_seconds().abs().to_numpy()
        known = {txn_id, *ids[same].tolist()}
        keep = (gap <= window_s) & np.array([t not in known for t in ids[near]], dtype=bool)
        out += [Duplicate(txn_id=ids[p], ts=iso(ts.iat[p]), kind="rescan", gap_s=abs(float(g)))
                for p, g in zip(near[keep].tolist(), gap[keep].tolist(), strict=True)]
    if not out:
        return None
    return Duplicates(txn_id=txn_id, candidates=sorted(out, key=lambda d: d.ts))


TOOL = ToolSpec(
    name="duplicate_candidates",
    description="Possible duplicates of a transaction: same payload under another id, or a "
                "rescan on one device seconds apart.",
    params=DuplicateParams,
    run=lambda view, p: duplicate_candidates(view, p.txn_id, window_s=p.window_s),
)
