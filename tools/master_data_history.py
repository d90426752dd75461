"""Tool: a SKU's item-master versions against what the floor measured, and when they parted.

The master's versions (case quantity and unit weight, each from its effective time) are set
beside the SKU's timeline: receipts by pack (the eaches per case each weighed case receipt
implies at the unit weight then in force), weighings of eaches (measured over expected
weight), and count variances (also in packs of the master then in force). ``parted_at`` is
the first weighed case receipt from which the floor's pack mostly disagrees with the master
in force; ``last_fit_at`` the last one before it that agreed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from tools.result import ToolSpec, num
from tools.view import WarehouseView, cell_float, cell_str, iso, row_dicts

PACK_TOLERANCE = 0.08
"""Relative gap between a receipt's implied pack and the master's from which they disagree
(scale noise and a few damaged eaches stay well inside it)."""
PARTED_SHARE = 2 / 3
"""Share of the weighed case receipts from a point on that must disagree with the master for
the master and the floor to have parted there (one odd pallet is not a pack change)."""
DECIMAL_SLIP_TOLERANCE = 0.02
"""How close (in log10) a receipt's implied pack must be to a power of ten times the master's
to be read as a decimal slip on the scale."""
LISTED = 12
"""Receipts, weighings and variances listed (the latest); the summaries count them all."""


class HistoryParams(BaseModel):
    """Arguments of :func:`master_data_history`."""

    sku: str = Field(min_length=1, description="the SKU whose master history to show")


class MasterVersion(BaseModel):
    """One version of the item master's pack data."""

    version: int
    effective_at: str | None = Field(description="when it took effect; None: from the start")
    case_qty: float
    unit_weight_kg: float | None = None
    source: str | None = None


class PackReceipt(BaseModel):
    """A case receipt and the pack its dock weight implies."""

    txn_id: str
    ts: str
    cases: float
    weight_kg: float | None
    master_case_qty: float = Field(description="case quantity of the master then in force")
    implied_case_qty: float | None = Field(description="weight / (cases x unit weight)")
    fits: bool | None = Field(description="implied pack within tolerance of the master's")


class Weighing(BaseModel):
    """A weighed handling of eaches: measured against the master's unit weight."""

    txn_id: str
    ts: str
    type: str
    eaches: float
    weight_kg: float
    ratio: float | None = Field(description="measured / (eaches x master unit weight)")


class Variance(BaseModel):
    """A count that found a difference."""

    txn_id: str
    ts: str
    location: str
    variance: float
    in_packs: float | None = Field(description="variance over the master case qty then")


class MasterDataHistory(BaseModel):
    """The master's versions beside the floor's receipts, weighings and count variances."""

    sku: str
    versions: list[MasterVersion]
    receipts: list[PackReceipt]
    weighings: list[Weighing]
    variances: list[Variance]
    case_receipts_weighed: int
    weighings_total: int
    weighing_ratio_median: float | None
    parted_at: str | None = Field(description="first receipt from which floor and master "
                                              "disagree on the pack")
    parted_field: str | None = Field(
        default=None, description="case_qty, or unit_weight_kg when weighed eaches are off "
                                  "by the same ratio as the case receipts")
    last_fit_at: str | None = Field(description="last receipt before that which agreed")
    floor_case_qty: float | None = Field(description="median implied pack since parted_at")
    floor_unit_weight_kg: float | None = None
    witnesses: int = Field(default=0, description="disagreeing receipts since parted_at")
    variances_since_parted: int = 0
    net_variance_since_parted: float = 0.0

    def facts(self) -> list[str]:
        """Evidence sentences."""
        out = ["Item master history of " + self.sku + ": " + "; ".join(
            f"v{v.version} case qty {num(v.case_qty)}"
            + (f", unit weight {num(v.unit_weight_kg)} kg" if v.unit_weight_kg else "")
            + (f" from {v.effective_at}" if v.effective_at else " from the start")
            for v in self.versions)]
        before = (f"last receipt fitting the master: {self.last_fit_at}" if self.last_fit_at
                  else "no earlier weighed receipt fitted it")
        counts = (f"; {self.variances_since_parted} count variances since, net "
                  f"{num(self.net_variance_since_parted)} EA")
        if self.parted_field == "case_qty":
            alone = ("; one receipt alone could also be a short shipment keyed as the ASN"
                     if self.witnesses == 1 else "")
            verb = "receipts since imply" if self.witnesses != 1 else "receipt since implies"
            out.append(
                f"Master and floor parted on the pack at {self.parted_at}: {self.witnesses} "
                f"weighed case {verb} {num(self.floor_case_qty, 1)} per case, the master in "
                f"force says {num(self._master_at_parting())} ({before}{alone})" + counts)
        elif self.parted_field == "unit_weight_kg":
            out.append(
                f"Master and floor parted on the unit weight at {self.parted_at} ({before}): "
                f"weighed eaches and cases alike weigh {num(self.weighing_ratio_median, 2)}x "
                f"the master's, about {num(self.floor_unit_weight_kg)} kg each" + counts)

        if not self.parted_field and self.case_receipts_weighed:
            out.append(f"{self.case_receipts_weighed} weighed case receipts of {self.sku} fit "
                       "the master's pack in force at the time")
        if self.weighing_ratio_median is not None and self.parted_field != "unit_weight_kg":
            out.append(f"Weighed eaches of {self.sku}: measured / master weight median "
                       f"{num(self.weighing_ratio_median, 2)} over {self.weighings_total} "
                       "weighings")
        return out


    def _master_at_parting(self) -> float | None:
        return next((r.master_case_qty for r in self.receipts if r.ts == self.parted_at), None)


def master_data_history(view: WarehouseView, sku: str) -> MasterDataHistory | None:
    """The master's versions and the floor's timeline for ``sku``.

    Returns:
        The history, or None when the SKU is not in the item master.
    """
    versions = _versions(view, sku)
    if not versions:
        return None
    starts = np.array([_t(v.effective_at) for v in versions], dtype=float)
    pos = view.positions(sku=sku)
    assert pos is not None
    kind, uom = view.column("type")[pos], view.column("uom")[pos]
    weight, variance = view.column("weight_kg")[pos], view.column("var")[pos]

    def taken(mask: np.ndarray) -> Iterator[tuple[dict[str, Any], MasterVersion]]:
        """The rows under ``mask``, each with the master version in force at its time."""
        rows = view.ledger.iloc[pos[mask]]
        at = np.searchsorted(starts, _ns(rows["ts"]), side="right") - 1
        return zip(row_dicts(rows), [versions[max(0, int(i))] for i in at], strict=True)

    receipts = []
    for r, m in taken((kind == "RECEIPT") & (uom == "CS")):
        w, cases = cell_float(r["weight_kg"]), cell_float(r["qty"])
        implied = (w / (cases * m.unit_weight_kg) if w and cases and m.unit_weight_kg
                   else None)
        fits = None if implied is None or _decimal_slip(implied / m.case_qty) else bool(
            abs(implied - m.case_qty) <= PACK_TOLERANCE * m.case_qty)
        receipts.append(PackReceipt(txn_id=r["txn_id"], ts=iso(r["ts"]), cases=cases or 0.0,
                                    weight_kg=w, master_case_qty=m.case_qty,
                                    implied_case_qty=None if implied is None
                                    else round(implied, 2), fits=fits))
    weighed: list[tuple[dict[str, Any], float, float, float | None]] = []
    for r, m in taken((uom != "CS") & pd.notna(weight)):
        e, w = cell_float(r["eaches"]) or 0.0, float(r["weight_kg"])
        ratio = w / (e * m.unit_weight_kg) if e and m.unit_weight_kg else None
        weighed.append((r, e, w, None if ratio is None else round(ratio, 3)))
    # a busy SKU has thousands of weighings: only the listed ones become models
    weighings = [Weighing(txn_id=r["txn_id"], ts=iso(r["ts"]), type=str(r["type"]), eaches=e,
                          weight_kg=w, ratio=ratio) for r, e, w, ratio in weighed[-LISTED:]]
    variances = []
    counted = (kind == "CYCLE_COUNT") & pd.notna(variance) & (variance != 0)
    for r, m in taken(counted):
        var = float(r["var"])
        variances.append(Variance(txn_id=r["txn_id"], ts=iso(r["ts"]),
                                  location=str(r["location"]), variance=var,
                                  in_packs=round(var / m.case_qty, 2) if m.case_qty else None))
    judged = [r for r in receipts if r.fits is not None]
    parted = _parted(judged)
    since = judged[parted:] if parted is not None else []
    after = [v for v in variances if parted is not None and v.ts >= judged[parted].ts]
    ratios = [ratio for *_, ratio in weighed if ratio is not None]
    each_ratio = float(np.median(ratios)) if ratios else None
    misfits = [r for r in since if not r.fits and r.implied_case_qty is not None]
    floor = float(np.median([r.implied_case_qty for r in misfits])) if misfits else None
    field = None
    if parted is not None and floor is not None:
        pack_ratio = floor / judged[parted].master_case_qty
        field = "unit_weight_kg" if each_ratio is not None and abs(
            each_ratio - pack_ratio) <= PACK_TOLERANCE * pack_ratio else "case_qty"
    return MasterDataHistory(
        sku=sku, versions=versions, receipts=receipts[-LISTED:], weighings=weighings,
        variances=variances[-LISTED:], case_receipts_weighed=len(judged),
        weighings_total=len(ratios), weighing_ratio_median=each_ratio,
        parted_at=judged[parted].ts if parted is not None else None,
        parted_field=field,
        last_fit_at=next((r.ts for r in reversed(judged[:parted]) if r.fits), None)
        if parted is not None else None,
        floor_case_qty=floor if field == "case_qty" else None,
        floor_unit_weight_kg=round(versions[-1].unit_weight_kg * each_ratio, 4)
        if field == "unit_weight_kg" and versions[-1].unit_weight_kg and each_ratio else None,
        witnesses=len(misfits),
        variances_since_parted=len(after),
        net_variance_since_parted=float(sum(v.variance for v in after)),
    )


def _parted(judged: list[PackReceipt]) -> int | None:
    """Index of the first disagreeing receipt from which the floor holds another pack.

    From there most weighed case receipts disagree with the master, and the disagreeing ones
    agree with each other: one other pack rather than scattered keying slips.
    """
    misfit = np.array([not r.fits for r in judged], dtype=float)
    for i in np.flatnonzero(misfit):
        if misfit[i:].mean() < PARTED_SHARE:
            continue
        packs = np.array([r.implied_case_qty for r in judged[i:] if not r.fits], dtype=float)
        if np.abs(packs - np.median(packs)).max() > PACK_TOLERANCE * np.median(packs):
            continue
        return int(i)
    return None


def _decimal_slip(ratio: float) -> bool:
    """A weight off by a power of ten (grams keyed as kilograms): a scale slip, not a pack."""
    if ratio <= 0:
        return False
    power = math.log10(ratio)
    return round(power) != 0 and abs(power - round(power)) < DECIMAL_SLIP_TOLERANCE


def _versions(view: WarehouseView, sku: str) -> list[MasterVersion]:
    """The store's versions of ``sku``, or the one master row a file-loaded dataset has."""
    stored = view.dataset.item_versions
    if stored is not None and len(stored):
        mine = stored[stored["sku"] == sku].sort_values("version")
        if len(mine):
            return [MasterVersion(
                version=int(v["version"]),
                effective_at=None if pd.isna(v["effective_at"]) else iso(v["effective_at"]),
                case_qty=float(v["case_qty"]), unit_weight_kg=cell_float(v["unit_weight_kg"]),
                source=cell_str(v["source"])) for _, v in mine.iterrows()]
    row = view.item(sku)
    if row is None:
        return []
    return [MasterVersion(version=1, effective_at=None, case_qty=float(row["case_qty"]),
                          unit_weight_kg=cell_float(row.get("unit_weight_kg")),
                          source="item master")]


def _ns(ts: pd.Series) -> np.ndarray:
    """Timestamps on the ledger's clock (ns, as floats like :func:`_t`)."""
    return pd.DatetimeIndex(ts).as_unit("ns").asi8.astype(float)


def _t(effective_at: str | None) -> float:
    """A version's start on the ledger's clock (ns); the first version starts at -inf."""
    return -math.inf if effective_at is None else float(pd.Timestamp(effective_at).value)


TOOL = ToolSpec(
    name="master_data_history",
    description="A SKU's item-master versions (case qty, unit weight) against the pack its "
                "weighed receipts imply, weighings and count variances; when they parted.",
    params=HistoryParams,
    run=lambda view, p: master_data_history(view, p.sku),
)
