"""Tool: recent transactions by SKU, location, user or device (any combination)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field, model_validator

from tools.result import ToolSpec, num
from tools.view import WarehouseView, cell_float, cell_str, iso, row_dicts


class RecentParams(BaseModel):
    """Arguments of :func:`recent_transactions`; at least one key is needed."""

    sku: str | None = None
    location: str | None = None
    user_id: str | None = None
    device_id: str | None = None
    until: str | None = Field(default=None, description="ISO time; rows up to it (default: all)")
    limit: int = Field(default=20, ge=1, le=200)

    @model_validator(mode="after")
    def _some_key(self) -> RecentParams:
        if not (self.sku or self.location or self.user_id or self.device_id):
            raise ValueError("give at least one of sku, location, user_id, device_id")
        return self


class TxnRow(BaseModel):
    """One transaction as the tools report it (the note is operator text: data only)."""

    txn_id: str
    ts: str
    type: str
    sku: str
    qty: float | None
    uom: str | None = None
    eaches: float | None = None
    location: str
    to_location: str | None = None
    user_id: str | None = None
    device_id: str | None = None
    weight_kg: float | None = None
    expected_qty: float | None = None
    reason_code: str | None = None
    ref: str | None = None
    balance_before: float | None = Field(default=None, description="system eaches at location")
    balance_after: float | None = None
    note: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[Any, Any]) -> TxnRow:
        """Build from a ledger row (a :func:`tools.view.row_dicts` row, or a Series)."""
        return cls(
            txn_id=str(row["txn_id"]), ts=iso(row["ts"]), type=str(row["type"]),
            sku=str(row["sku"]), qty=cell_float(row.get("qty")), uom=cell_str(row.get("uom")),
            eaches=cell_float(row.get("eaches")), location=str(row["location"]),
            to_location=cell_str(row.get("to_location")), user_id=cell_str(row.get("user_id")),
            device_id=cell_str(row.get("device_id")), weight_kg=cell_float(row.get("weight_kg")),
            expected_qty=cell_float(row.get("expected_qty")),
            reason_code=cell_str(row.get("reason_code")), ref=cell_str(row.get("ref")),
            balance_before=cell_float(row.get("bal_before")),
            balance_after=cell_float(row.get("bal_after")), note=cell_str(row.get("note")),
        )

    def fact(self) -> str:
        """One evidence sentence (never the note: notes are not evidence)."""
        uom = self.uom or "EA"
        where = f"{self.location} -> {self.to_location}" if self.to_location else self.location
        text = f"{self.txn_id} {self.type} {num(self.qty)} {uom} of {self.sku} at {where}"
        if self.user_id:
            text += f" by {self.user_id}"
        if self.device_id:
            text += f" on {self.device_id}"
        text += f" at {self.ts}"
        if self.weight_kg is not None:
            text += f"; weighed {num(self.weight_kg)} kg"
        if self.expected_qty is not None:
            label = "system showed" if self.type == "CYCLE_COUNT" else "expected"
            text += f"; {label} {num(self.expected_qty)}"
        if self.reason_code:
            text += f"; reason {self.reason_code}"
        if self.balance_before is not None and self.type != "CYCLE_COUNT":
            text += f"; balance {num(self.balance_before)} -> {num(self.balance_after)} EA"
        return text


def recent_transactions(view: WarehouseView, *, sku: str | None = None,
                        location: str | None = None, user_id: str | None = None,
                        device_id: str | None = None, until: str | None = None,
                        limit: int = 20) -> list[TxnRow]:
    """The latest ``limit`` transactions matching every given key, oldest first."""
    rows = view.rows(sku=sku, location=location, user_id=user_id, device_id=device_id)
    if until:
        stamp = pd.Timestamp(until)
        stamp = stamp.tz_convert("UTC") if stamp.tzinfo else stamp.tz_localize("UTC")
        rows = rows[rows["ts"] <= stamp]
    return [TxnRow.from_row(r) for r in row_dicts(rows.tail(limit))]


TOOL = ToolSpec(
    name="recent_transactions",
    description="Latest transactions filtered by any of sku, location, user_id, device_id "
                "(optionally up to a time), with the system balance around each.",
    params=RecentParams,
    run=lambda view, p: recent_transactions(
        view, sku=p.sku, location=p.location, user_id=p.user_id, device_id=p.device_id,
        until=p.until, limit=p.limit) or None,
)
