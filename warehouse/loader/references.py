"""How transaction rows refer to the master data: eaches from case_qty, unknown keys.

A transaction for a SKU or location the master data does not know still loads (the
contract rejects only rows that break it); it is counted as a warning. A CS quantity of an
unknown SKU cannot be converted, so its ``eaches`` is NaN and it moves no balance.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from warehouse.contract import Uom


def add_eaches(transactions: pd.DataFrame, case_qty: pd.Series) -> None:
    """Set ``transactions.eaches`` = qty x case_qty for CS rows, qty for EA rows.

    Args:
        transactions: validated rows (``qty`` float64, ``uom`` EA or CS).
        case_qty: eaches per case, indexed by sku.
    """
    cases = transactions["uom"].to_numpy() == Uom.CS.value
    factor = np.ones(len(transactions), dtype="float64")
    if cases.any():
        factor[cases] = transactions.loc[cases, "sku"].map(case_qty).astype("float64")
    transactions["eaches"] = transactions["qty"].to_numpy(dtype="float64") * factor


def reference_warnings(transactions: pd.DataFrame, skus: pd.Index,
                       locations: pd.Index) -> Counter[str]:
    """Counts of rows naming a SKU or location missing from the master data."""
    warnings: Counter[str] = Counter()
    if len(skus):
        unknown = ~transactions["sku"].isin(skus)
        warnings["unknown_sku"] += int(unknown.sum())
        warnings["unknown_sku_in_cases"] += int(
            (unknown & (transactions["uom"] == Uom.CS.value)).sum())
    if len(locations):
        places = transactions["location"].isin(locations)
        destination = transactions["to_location"]
        places &= destination.isna() | destination.isin(locations)
        warnings["unknown_location"] += int((~places).sum())
    return +warnings
