"""The transaction frame every detector reads: contract columns, normalised and enriched.

One vectorised pass joins the item master and the location table onto the log, converts
quantities to eaches, turns times into integer seconds and computes the running system
balance per (SKU, location). Columns a messy export lacks are added as missing, so detectors
can ask what the data supports instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from warehouse.dataset import Dataset

STRING_COLUMNS = ("txn_id", "type", "sku", "uom", "location", "to_location", "user_id",
                  "device_id", "reason_code", "ref")
NUMBER_COLUMNS = ("qty", "weight_kg", "expected_qty")
# signed effect of a row on the balance at `location` (ADJUSTMENT carries its own sign)
SOURCE_SIGN = {"RECEIPT": 1.0, "RETURN": 1.0, "ADJUSTMENT": 1.0, "PUTAWAY": -1.0, "MOVE": -1.0,
               "PICK": -1.0, "CYCLE_COUNT": 0.0}
STORAGE_TYPES = frozenset({"PICK", "RESERVE", "BULK"})


@dataclass
class Catalog:
    """Item and location lookups the detectors share.

    Attributes:
        items: item master indexed by sku (case_qty, unit_weight_kg, unit_cost, home).
        locations: locations indexed by location_id (type, x_m, y_m, max_weight_kg).
        lookalike_group: sku -> look-alike group key (description without size tokens).
    """

    items: pd.DataFrame
    locations: pd.DataFrame
    lookalike_group: pd.Series

    @staticmethod
    def from_dataset(data: Dataset) -> Catalog:
        """Index the item master and locations of ``data`` (missing columns become NaN)."""
        items = data.items.copy()
        for col in ("case_qty", "unit_weight_kg", "unit_cost"):
            items[col] = pd.to_numeric(items.get(col), errors="coerce") if col in items else np.nan
        for col in ("description", "category", "home_location"):
            if col not in items:
                items[col] = None
        items = items.drop_duplicates("sku", keep="last").set_index("sku")
        items["case_qty"] = items["case_qty"].where(items["case_qty"] >= 1)
        locs = data.locations.copy()
        for col in ("x_m", "y_m", "level", "max_weight_kg"):
            locs[col] = pd.to_numeric(locs.get(col), errors="coerce") if col in locs else np.nan
        if "type" not in locs:
            locs["type"] = None
        locs = locs.drop_duplicates("location_id", keep="last").set_index("location_id")
        desc = items["description"].fillna("").astype(str).str.lower()
        # look-alikes: same words once sizes and numbers are removed ("Cola 330ml" ~ "Cola 1L")
        key = desc.str.replace(r"\S*\d\S*", " ", regex=True).str.split().str.join(" ")
        key = key.where(key.str.len() > 0) + "|" + items["category"].fillna("").astype(str)
        return Catalog(items=items, locations=locs, lookalike_group=key)

    def lookalikes(self, sku: str) -> list[str]:
        """Other SKUs of ``sku``'s look-alike group."""
        key = self.lookalike_group.get(sku)
        if not isinstance(key, str):
            return []
        members = self.lookalike_group.index[self.lookalike_group.to_numpy() == key]
        return [m for m in members if m != sku]


def prepare(tx: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """Normalise a transaction log and join what detectors need onto every row.

    Args:
        tx: contract transactions (``ts`` tz-aware or ISO strings; other columns optional).
        catalog: the item and location lookups.

    Returns:
        A new frame in time order (stable), with ``t`` (epoch seconds), ``eaches``,
        ``exp_eaches`` (expected_qty in eaches), item and location attributes, and ``row``
        (position in the returned frame).
    """
    out = pd.DataFrame(index=pd.RangeIndex(len(tx)))
    for col in STRING_COLUMNS:
        vals = tx[col] if col in tx else pd.Series([None] * len(tx))
        vals = vals.astype(object).to_numpy()
        missing = pd.isna(vals) | (vals == "")
        out[col] = np.where(missing, None, vals.astype(str)).astype(object)
    for col in NUMBER_COLUMNS:
        out[col] = pd.to_numeric(tx[col], errors="coerce").to_numpy(dtype="float64") \
            if col in tx else np.nan
    ts = pd.to_datetime(tx["ts"], utc=True, format="ISO8601").astype("datetime64[ns, UTC]")
    out["t"] = ts.astype("int64").to_numpy() // 1_000_000_000
    out["type"] = out["type"].astype(str).str.upper()
    out["uom"] = out["uom"].fillna("EA").astype(str).str.upper()
    out["ts"] = ts.to_numpy()
    if "context_only" in tx:
        out["context_only"] = tx["context_only"].fillna(False).to_numpy(dtype=bool)
    out = out.sort_values("t", kind="stable").reset_index(drop=True)
    items, locs = catalog.items, catalog.locations
    out["case_qty"] = out["sku"].map(items["case_qty"]).astype("float64")
    out["unit_weight"] = out["sku"].map(items["unit_weight_kg"]).astype("float64")
    out["unit_cost"] = out["sku"].map(items["unit_cost"]).astype("float64")
    out["home"] = out["sku"].map(items["home_location"])
    cs = (out["uom"] == "CS").to_numpy()
    factor = np.where(cs, out["case_qty"].to_numpy(), 1.0)
    out["eaches"] = out["qty"].to_numpy() * factor
    out["exp_eaches"] = out["expected_qty"].to_numpy() * factor
    out["loc_type"] = out["location"].map(locs["type"])
    out["dest_type"] = out["to_location"].map(locs["type"])
    out["home_type"] = out["home"].map(locs["type"])
    for col, src in (("x", "x_m"), ("y", "y_m")):
        out[col] = out["location"].map(locs[src]).astype("float64")
    out["dest_max_w"] = out["to_location"].map(locs["max_weight_kg"]).astype("float64")
    out["sign"] = out["type"].map(SOURCE_SIGN).fillna(0.0).to_numpy()
    out["row"] = np.arange(len(out))
    return out
