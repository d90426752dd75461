"""A warehouse dataset in memory: the three contract tables as pandas frames.

This is the hand-off shape between the loader, the generator, the store and the scorer.
Column names are the contract's; columns outside the contract are kept as extra columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from warehouse.contract import ITEM_COLUMNS, LOCATION_COLUMNS, TRANSACTION_COLUMNS

# pandas dtypes of the canonical columns once loaded (strings stay object; missing = NaN/None)
TRANSACTION_DTYPES: dict[str, str] = {
    "qty": "float64",
    "weight_kg": "float64",
    "expected_qty": "float64",
}
ITEM_DTYPES: dict[str, str] = {
    "case_qty": "int64",
    "unit_weight_kg": "float64",
    "unit_cost": "float64",
}
LOCATION_DTYPES: dict[str, str] = {
    "x_m": "float64",
    "y_m": "float64",
    "level": "float64",
    "max_weight_kg": "float64",
}


@dataclass
class Dataset:
    """The item master, the locations and the transaction log of one warehouse.

    ``transactions.ts`` is a tz-aware UTC ``datetime64`` column, sorted ascending (stable on
    file order); ``transactions.eaches`` is ``qty`` converted to eaches with the item
    master's case quantity (NaN where the SKU is unknown and the uom is CS).
    ``item_versions`` (from a store snapshot; None from files) is the item master's history:
    sku, version, effective_at (NaT: from the start), recorded_at, case_qty,
    unit_weight_kg, source.
    """

    items: pd.DataFrame
    locations: pd.DataFrame
    transactions: pd.DataFrame
    labels: pd.DataFrame | None = None
    extras: dict[str, list[str]] = field(default_factory=dict)
    item_versions: pd.DataFrame | None = None

    @staticmethod
    def empty() -> Dataset:
        """A dataset with the contract's columns and no rows."""
        return Dataset(
            items=pd.DataFrame(columns=ITEM_COLUMNS),
            locations=pd.DataFrame(columns=LOCATION_COLUMNS),
            transactions=pd.DataFrame(columns=[*TRANSACTION_COLUMNS, "eaches"]),
        )
