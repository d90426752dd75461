"""Tool: transactions that may duplicate a given one (same payload, or a rescan seconds apart)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.result import ToolSpec, num
from tools.view import WarehouseView, iso

PAYLOAD = ("ts", "type", "sku", "qty", "location", "to_location", "user_id")
"""Fields that make two events the same event (the id aside)."""
RESCAN_S = 120.0


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
    same_sku = view.rows(sku=row["sku"])
    same_sku = same_sku[same_sku["txn_id"] != txn_id]
    out = []
    payload = [c for c in PAYLOAD if c in same_sku]
    mask = (same_sku[payload].eq(row[payload]) | (same_sku[payload].isna()
                                                  & row[payload].isna())).all(axis=1)
    for _, r in same_sku[mask].iterrows():
        out.append(Duplicate(txn_id=r["txn_id"], ts=iso(r["ts"]), kind="same_payload", gap_s=0.0))
    device = row.get("device_id")
    if isinstance(device, str) and device:
        gap = (same_sku["ts"] - row["ts"]).dt.total_seconds()
        near = same_sku[(same_sku["device_id"] == device) & (same_sku["type"] == row["type"])
                        & (same_sku["qty"] == row["qty"]) & (gap.abs() <= window_s) & ~mask]
        for _, r in near.iterrows():
            out.append(Duplicate(txn_id=r["txn_id"], ts=iso(r["ts"]), kind="rescan",
                                 gap_s=abs(float((r["ts"] - row["ts"]).total_seconds()))))
    if not out:
        return None
    return Duplicates(txn_id=txn_id, candidates=sorted(out, key=lambda d: d.ts))


TOOL = ToolSpec(
    name="duplicate_candidates",
    description="Transactions that may duplicate a given one: identical payload under another "
                "id, or the same scan repeated on one device seconds apart.",
    params=DuplicateParams,
    run=lambda view, p: duplicate_candidates(view, p.txn_id, window_s=p.window_s),
)
