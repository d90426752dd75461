"""Tool: transactions that may duplicate a given one (same payload, or a rescan seconds apart)."""

from __future__ import annotations

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
    row = view.txn(txn_id)
    if row is None:
        return None
    same = view.same_payload(txn_id)
    out = [Duplicate(txn_id=t, ts=iso(ts), kind="same_payload", gap_s=0.0)
           for t, ts in zip(same["txn_id"], same["ts"], strict=True)]
    device = row.get("device_id")
    if isinstance(device, str) and device:
        pos = view.positions(sku=row["sku"], device_id=device, type=row["type"])
        assert pos is not None
        near = view.ledger.iloc[pos[view.column("qty")[pos] == row["qty"]]]
        gap = (near["ts"] - row["ts"]).dt.total_seconds().abs()
        near = near[(gap <= window_s) & ~near["txn_id"].isin([txn_id, *same["txn_id"]])]
        out += [Duplicate(txn_id=t, ts=iso(ts), kind="rescan", gap_s=abs(float(g)))
                for t, ts, g in zip(near["txn_id"], near["ts"], gap[near.index], strict=True)]
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
