"""Tool: what was received under a reference against what its ASN/PO expected."""

from __future__ import annotations

from pydantic import BaseModel, Field

from tools.result import ToolSpec, num
from tools.view import WarehouseView, cell_float, cell_str, iso, row_dicts


class ReceiptParams(BaseModel):
    """Arguments of :func:`receipt_vs_asn`."""

    ref: str = Field(min_length=1, description="PO or ASN reference")
    sku: str | None = None


class ReceiptLine(BaseModel):
    """One receipt line."""

    txn_id: str
    ts: str
    sku: str
    received: float | None
    uom: str
    expected: float | None = Field(description="quantity on the ASN/PO, in the same uom")
    difference: float | None = Field(description="received - expected, in that uom")
    difference_eaches: float | None = None
    weight_kg: float | None = None
    weight_implied_eaches: float | None = Field(
        default=None, description="eaches the dock weight implies at the master's unit weight")
    user_id: str | None = None


class ReceiptCheck(BaseModel):
    """Receipt lines under one reference."""

    ref: str
    lines: list[ReceiptLine]

    def facts(self) -> list[str]:
        """Evidence sentences (lines that differ from the ASN first)."""
        out = []
        for ln in sorted(self.lines, key=lambda x: x.difference == 0)[:3]:
            if ln.expected is None:
                text = (f"Receipt {ln.txn_id} of {ln.sku} under {self.ref}: received "
                        f"{num(ln.received)} {ln.uom}, no expected quantity on file")
            else:
                text = (f"Receipt {ln.txn_id} of {ln.sku} under {self.ref}: received "
                        f"{num(ln.received)} {ln.uom}, ASN expected {num(ln.expected)} "
                        f"(difference {num(ln.difference)} {ln.uom})")
            if ln.weight_implied_eaches is not None:
                text += (f"; dock weight {num(ln.weight_kg)} kg implies "
                         f"{num(ln.weight_implied_eaches, 1)} EA")
            out.append(text)
        return out


def receipt_vs_asn(view: WarehouseView, ref: str, *, sku: str | None = None
                   ) -> ReceiptCheck | None:
    """Receipt lines under ``ref`` (optionally one SKU) with their expected quantities.

    Returns:
        The lines, or None when no receipt carries that reference.
    """
    rows = view.rows(ref=ref, sku=sku)
    rows = rows[rows["type"] == "RECEIPT"]
    if rows.empty:
        return None
    lines = []
    for r in row_dicts(rows):
        qty, exp = cell_float(r["qty"]), cell_float(r.get("expected_qty"))
        diff = None if qty is None or exp is None else qty - exp
        eaches = cell_float(r["eaches"])
        per = eaches / qty if eaches and qty else 1.0
        item = view.item(r["sku"])
        unit = cell_float(item.get("unit_weight_kg")) if item is not None else None
        weight = cell_float(r.get("weight_kg"))
        lines.append(ReceiptLine(
            txn_id=r["txn_id"], ts=iso(r["ts"]), sku=r["sku"], received=qty,
            uom=cell_str(r.get("uom")) or "EA", expected=exp, difference=diff,
            difference_eaches=None if diff is None else diff * per, weight_kg=weight,
            weight_implied_eaches=round(weight / unit, 1) if weight and unit else None,
            user_id=cell_str(r.get("user_id")),
        ))
    return ReceiptCheck(ref=ref, lines=lines)


TOOL = ToolSpec(
    name="receipt_vs_asn",
    description="Receipt lines under a PO/ASN reference: received vs expected quantity and "
                "what the dock weight implies.",
    params=ReceiptParams,
    run=lambda view, p: receipt_vs_asn(view, p.ref, sku=p.sku),
)
