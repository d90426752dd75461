"""Small hand-made warehouse logs for scorer tests: a quiet background plus one twist."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from warehouse.dataset import Dataset

T0 = pd.Timestamp("2025-01-06T00:00:00Z")
ITEMS = [
    # sku, description, case_qty, unit_weight_kg, unit_cost, home
    ("A", "Acme Cola 330ml", 12, 0.36, 1.0, "P1"),
    ("B", "Acme Cola 1L", 6, 1.06, 2.0, "P2"),
    ("C", "Polar Crisps 40g", 24, 0.05, 0.8, "P3"),
    ("H", "Vista Tablet 10in", 4, 0.5, 400.0, "CG1"),
]
LOCATIONS = [
    ("P1", "A", "PICK", 0.0, 0.0, 0, 300.0),
    ("P2", "A", "PICK", 1.35, 0.0, 0, 300.0),
    ("P3", "A", "PICK", 2.7, 0.0, 0, 300.0),
    ("P9", "A", "PICK", 60.0, 0.0, 0, 300.0),
    ("R1", "R", "RESERVE", 10.0, 0.0, 4, 100.0),
    ("D1", "DOCK", "DOCK", 0.0, -20.0, 0, None),
    ("CG1", "CAGE", "CAGE", 30.0, 0.0, 0, 150.0),
    ("S1", "STAGING", "STAGING", 20.0, -20.0, 0, None),
    ("Q1", "QUARANTINE", "QUARANTINE", 25.0, -20.0, 0, None),
]


def at(hours: float) -> pd.Timestamp:
    """A time ``hours`` after the start of the log."""
    return T0 + pd.Timedelta(hours=hours)


def background(days: int = 10) -> list[dict[str, Any]]:
    """Opening stock, then each day a few picks per item and a replenishment: all benign."""
    rows: list[dict[str, Any]] = []
    for sku, _, _, _, _, home in ITEMS:
        rows.append(
            {
                "ts": at(-1),
                "type": "ADJUSTMENT",
                "sku": sku,
                "qty": 400,
                "location": home,
                "user_id": "MIG",
                "reason_code": "OTHER",
            }
        )
    for day in range(days):
        for k, (sku, _, _, _, _, home) in enumerate(ITEMS):
            for j in range(4):
                rows.append(
                    {
                        "ts": at(24 * day + 8 + j + k / 10),
                        "type": "PICK",
                        "sku": sku,
                        "qty": 2 + j % 2,
                        "location": home,
                        "user_id": f"U{j}",
                        "device_id": f"G{j}",
                        "ref": f"SO{day}{k}{j}",
                    }
                )
    return rows


def dataset(extra: Iterable[Mapping[str, Any]] = (), days: int = 10) -> Dataset:
    """The background plus ``extra`` rows, as a contract dataset (ids in time order)."""
    rows = [*background(days), *extra]
    tx = pd.DataFrame(rows).sort_values("ts", kind="stable").reset_index(drop=True)
    tx.insert(0, "txn_id", [f"T{i:05d}" for i in range(len(tx))])
    for col in (
        "uom",
        "to_location",
        "device_id",
        "weight_kg",
        "expected_qty",
        "reason_code",
        "ref",
        "lot",
        "expiry",
        "note",
    ):
        if col not in tx:
            tx[col] = None
    tx["uom"] = tx["uom"].fillna("EA")
    for col in ("qty", "weight_kg", "expected_qty"):
        tx[col] = pd.to_numeric(tx[col]).astype("float64")
    items = pd.DataFrame(
        ITEMS,
        columns=["sku", "description", "case_qty", "unit_weight_kg", "unit_cost", "home_location"],
    )
    locations = pd.DataFrame(
        LOCATIONS, columns=["location_id", "zone", "type", "x_m", "y_m", "level", "max_weight_kg"]
    )
    cq = items.set_index("sku")["case_qty"]
    tx["eaches"] = tx["qty"] * tx["sku"].map(cq).where(tx["uom"] == "CS", 1).astype("float64")
    return Dataset(items=items, locations=locations, transactions=tx)
