"""Money in question on a ticket: eaches in doubt x unit cost (contract section 5).

What is in doubt depends on what the ticket proposes: the quantity an adjustment or a claim
moves, the eaches a void takes back or a reslot relocates; otherwise what the flagged
transactions leave uncertain (a count's variance, an adjustment's quantity, a receipt's
difference from its ASN line, a pick's eaches). A SKU without a known unit cost contributes
0, never NaN.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from tools.view import WarehouseView, cell_float
from warehouse.contract import Action, ActionType, EvidenceItem

A = ActionType


def unit_cost(view: WarehouseView, sku: object) -> float:
    """Cost of one each of ``sku``; 0 when the SKU or its cost is unknown."""
    item = view.item(str(sku)) if isinstance(sku, str) else None
    cost = cell_float(item.get("unit_cost")) if item is not None else None
    return cost if cost is not None and math.isfinite(cost) and cost > 0 else 0.0


def doubtful_eaches(rows: pd.DataFrame) -> np.ndarray:
    """Eaches each transaction leaves in doubt (0 for a row that moves nothing)."""
    if rows.empty:
        return np.zeros(0)
    eaches = rows["eaches"].to_numpy(dtype=float)
    per = np.divide(eaches, rows["qty"].to_numpy(dtype=float),
                    out=np.ones(len(rows)), where=rows["qty"].to_numpy(dtype=float) != 0)
    types = rows["type"].to_numpy(dtype=object)
    var = rows["var"].to_numpy(dtype=float) if "var" in rows else np.full(len(rows), np.nan)
    expected = rows["expected_qty"].to_numpy(dtype=float)
    out = np.abs(eaches)
    counted = types == "CYCLE_COUNT"
    out[counted] = np.abs(var[counted])
    receipt = (types == "RECEIPT") & ~np.isnan(expected)
    diff = np.abs(rows["qty"].to_numpy(dtype=float) - expected) * np.abs(per)
    out[receipt & (diff > 0)] = diff[receipt & (diff > 0)]
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def value_at_risk(action: Action, rows: pd.DataFrame, view: WarehouseView) -> float:
    """Money the ticket is about, rounded to cents (>= 0, finite).

    Args:
        action: the drafted action.
        rows: the incident's ledger rows (``view.txns(incident.txn_ids)``).
        view: the warehouse, for unit costs.
    """
    p = action.params
    if action.type in (A.ADJUST_INVENTORY, A.SUPPLIER_CLAIM) and p.get("qty_delta") is not None:
        value = abs(float(p["qty_delta"])) * unit_cost(view, p.get("sku"))
    elif action.type is A.VOID_DUPLICATE and (txn := view.txn(str(p.get("txn_id")))) is not None:
        value = abs(cell_float(txn["eaches"]) or 0.0) * unit_cost(view, txn["sku"])
    elif action.type is A.RESLOT:
        mine = rows["sku"] == p.get("sku")
        moved = rows[mine & (rows["to_location"] == p.get("from_location"))]["eaches"]
        if not len(moved):  # counted over there: the eaches that belong elsewhere
            at = rows[mine & (rows["location"] == p.get("from_location"))]
            moved = at.loc[at["type"] == "CYCLE_COUNT", "var"].clip(lower=0)
        value = float(np.nansum(np.abs(moved.to_numpy(dtype=float)))) * unit_cost(
            view, p.get("sku"))
    else:
        value = 0.0
    if value <= 0 and len(rows):
        costs = np.array([unit_cost(view, s) for s in rows["sku"]])
        value = float(np.sum(doubtful_eaches(rows) * costs))
    return round(value, 2) if math.isfinite(value) and value > 0 else 0.0


def value_fact(value: float, rows: pd.DataFrame, view: WarehouseView) -> EvidenceItem | None:
    """The money in question as an evidence fact (source ``policy``), None when there is none.

    The prose may state the ticket's money only by citing this fact; with one SKU in the
    incident the fact also names the item master's unit cost it was computed with.
    """
    if value <= 0:
        return None
    skus = list(dict.fromkeys(str(s) for s in rows["sku"])) if len(rows) else []
    cost = unit_cost(view, skus[0]) if len(skus) == 1 else 0.0
    basis = (f"eaches in doubt x unit cost {cost:,.2f} of {skus[0]} in the item master"
             if cost > 0 else "eaches in doubt x the item master's unit costs")
    return EvidenceItem(fact=f"value at risk {value:,.2f} ({basis})", source="policy")
