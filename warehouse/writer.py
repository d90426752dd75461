"""Writing a :class:`Dataset` as a contract folder that :func:`load_dataset` reads back."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from warehouse.contract import ITEM_COLUMNS, LABEL_COLUMNS, LOCATION_COLUMNS, TRANSACTION_COLUMNS
from warehouse.dataset import Dataset


def write_dataset(dataset: Dataset, out_dir: Path, *, gzip: bool = False) -> dict[str, int]:
    """Write items, locations, transactions (and labels) as CSV; rows written per file.

    Contract columns come first, extra columns after them; ``eaches`` is derived, so it
    is not written. ``ts`` is written as ISO-8601 with a ``+00:00`` offset (microseconds
    only when some time has them). ``gzip`` compresses the transaction log
    (``transactions.csv.gz``), the one file that grows large.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    transactions = dataset.transactions
    frames = {
        "items.csv": _ordered(dataset.items, ITEM_COLUMNS),
        "locations.csv": _ordered(dataset.locations, LOCATION_COLUMNS),
        "transactions.csv.gz" if gzip else "transactions.csv": _ordered(
            transactions.assign(ts=iso_utc(transactions["ts"])), TRANSACTION_COLUMNS,
            derived=["eaches"]),
    }
    if dataset.labels is not None:
        frames["labels.csv"] = _ordered(dataset.labels, LABEL_COLUMNS)
    for name, frame in frames.items():
        frame.to_csv(out_dir / name, index=False)
    return {name: len(frame) for name, frame in frames.items()}


def iso_utc(ts: pd.Series) -> pd.Series:
    """Tz-aware times as ISO-8601 strings in UTC with an explicit ``+00:00`` offset."""
    values = ts.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    unit: Literal["us", "s"] = "us" if (values.astype(np.int64) % 1_000_000).any() else "s"
    text = np.char.add(np.datetime_as_string(values, unit=unit), "+00:00")
    return pd.Series(text, index=ts.index, dtype="str").where(ts.notna())


def _ordered(frame: pd.DataFrame, contract: list[str], *,
             derived: list[str] | None = None) -> pd.DataFrame:
    """Contract columns first (all of them, empty where absent), then the extra ones."""
    skip = set(contract) | set(derived or [])
    return frame.reindex(columns=[*contract, *(c for c in frame.columns if c not in skip)])
