"""Reading the store back: a :class:`Dataset` snapshot, balances, a location's ledger."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pandas.api.types import pandas_dtype
from sqlalchemy import Engine, text

from warehouse.contract import ITEM_COLUMNS, LOCATION_COLUMNS, TRANSACTION_COLUMNS
from warehouse.dataset import ITEM_DTYPES, LOCATION_DTYPES, TRANSACTION_DTYPES, Dataset

_NUMERIC = {**ITEM_DTYPES, **LOCATION_DTYPES, **TRANSACTION_DTYPES, "eaches": "float64",
            "qty": "float64", "delta": "float64", "balance_after": "float64",
            "last_seq": "int64", "seq": "int64", "id": "int64"}


def _frame(engine: Engine, sql: str, **params: Any) -> pd.DataFrame:
    """A query's rows with the dataset conventions: str columns, float64 numbers, UTC ts."""
    with engine.connect() as conn:
        frame = pd.read_sql_query(text(sql), conn, params=params)
    for column in frame.columns:
        if column in _NUMERIC:
            frame[column] = frame[column].astype(pandas_dtype(_NUMERIC[column]))
        elif column == "ts":
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601").astype(
                "datetime64[us, UTC]")
        else:
            frame[column] = frame[column].astype("str")
    return frame


def _with_extras(frame: pd.DataFrame, contract: list[str]) -> tuple[pd.DataFrame, list[str]]:
    """Expand the ``extras`` JSON column back into columns after the contract's."""
    blobs = frame.pop("extras")
    present = blobs.notna()
    if not present.any():
        return frame, []
    expanded = pd.DataFrame([json.loads(b) for b in blobs[present]],
                            index=frame.index[present.to_numpy()])
    expanded = expanded.reindex(frame.index).astype("str")
    names = [c for c in expanded.columns if c not in contract]
    return pd.concat([frame, expanded[names]], axis=1), names


def snapshot(engine: Engine, site: str) -> Dataset:
    """Everything stored at ``site``, as a Dataset (transactions by ts, then posting order)."""
    items, item_extras = _with_extras(
        _frame(engine, f"SELECT {', '.join(ITEM_COLUMNS)}, extras FROM items "
                       "WHERE site = :site ORDER BY sku", site=site), ITEM_COLUMNS)
    locations, location_extras = _with_extras(_frame(
        engine, f"SELECT {', '.join(LOCATION_COLUMNS)}, extras FROM locations "
                "WHERE site = :site ORDER BY location_id", site=site), LOCATION_COLUMNS)
    transactions, txn_extras = _with_extras(_frame(
        engine, f"SELECT {', '.join(TRANSACTION_COLUMNS)}, eaches, extras FROM transactions "
                "WHERE site = :site ORDER BY seq", site=site), TRANSACTION_COLUMNS)
    transactions = transactions.sort_values("ts", kind="stable").reset_index(drop=True)
    extras = {name: columns for name, columns in (("items", item_extras),
              ("locations", location_extras), ("transactions", txn_extras)) if columns}
    return Dataset(items=items, locations=locations, transactions=transactions, extras=extras,
                   item_versions=item_versions(engine, site))


def item_versions(engine: Engine, site: str, sku: str | None = None) -> pd.DataFrame:
    """The item master's versions at ``site`` (all SKUs, or one), by SKU and version."""
    where = "AND sku = :sku " if sku is not None else ""
    frame = _frame(engine, "SELECT sku, version, effective_at, recorded_at, case_qty, "
                           f"unit_weight_kg, source FROM item_versions WHERE site = :site "
                           f"{where}ORDER BY sku, version", site=site, sku=sku)
    for column in ("effective_at", "recorded_at"):
        frame[column] = pd.to_datetime(frame[column].replace({"None": None, "nan": None}),
                                       utc=True, format="ISO8601")
    frame["version"] = frame["version"].astype("int64")
    frame["case_qty"] = frame["case_qty"].astype("float64")
    frame["unit_weight_kg"] = pd.to_numeric(frame["unit_weight_kg"].replace("None", None),
                                            errors="coerce")
    return frame


def items(engine: Engine, site: str) -> pd.DataFrame:
    """The item master's contract columns at ``site``."""
    return _frame(engine, f"SELECT {', '.join(ITEM_COLUMNS)} FROM items WHERE site = :site "
                          "ORDER BY sku", site=site)


def balances(engine: Engine, site: str) -> pd.DataFrame:
    """The balance per (sku, location) at ``site`` in eaches, with the last leg's seq."""
    return _frame(engine, "SELECT sku, location, qty, last_seq FROM balances "
                          "WHERE site = :site ORDER BY sku, location", site=site)


def balance_history(engine: Engine, site: str, sku: str, location: str) -> pd.DataFrame:
    """The ledger of one (sku, location) in posting order: each leg and the balance after."""
    return _frame(engine, """
        SELECT h.seq, t.txn_id, t.ts, t.type, t.qty, t.uom, t.user_id, t.ref,
               h.delta, h.balance_after
        FROM balance_history h JOIN transactions t ON t.seq = h.seq
        WHERE h.site = :site AND h.sku = :sku AND h.location = :location
        ORDER BY h.id""", site=site, sku=sku, location=location)


def sites(engine: Engine) -> list[str]:
    """The sites that hold master data or transactions, by name."""
    with engine.connect() as conn:
        return sorted(conn.execute(text(
            "SELECT site FROM items UNION SELECT site FROM locations "
            "UNION SELECT DISTINCT site FROM transactions")).scalars())


@dataclass
class StoreStatus:
    """What the store holds: counts, ingest history, balance summary."""

    items: int
    locations: int
    transactions: int
    first_ts: pd.Timestamp | None
    last_ts: pd.Timestamp | None
    ingests: int
    rows_rejected: int
    rows_redelivered: int
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    balance_locations: int = 0
    balance_skus: int = 0
    negative_balances: int = 0


def status(engine: Engine, site: str) -> StoreStatus:
    """A summary of ``site`` for ``tally status``."""
    with engine.connect() as conn:
        def one(sql: str) -> object:
            return conn.execute(text(sql + (" AND" if " WHERE " in sql else " WHERE")
                                     + " site = :site"), {"site": site}).scalar_one()

        runs = conn.execute(text("SELECT rejected, redelivered, rejected_by_reason "
                                 "FROM ingest_runs WHERE site = :site"), {"site": site}).all()
        by_reason: Counter[str] = Counter()
        for run in runs:
            by_reason.update(json.loads(run[2]))
        first, last = conn.execute(text("SELECT MIN(ts), MAX(ts) FROM transactions "
                                        "WHERE site = :site"), {"site": site}).one()
        return StoreStatus(
            items=int(one("SELECT COUNT(*) FROM items")),  # type: ignore[call-overload]
            locations=int(one("SELECT COUNT(*) FROM locations")),  # type: ignore[call-overload]
            transactions=int(one("SELECT COUNT(*) FROM transactions")),  # type: ignore[call-overload]
            first_ts=pd.to_datetime(first, utc=True) if first is not None else None,
            last_ts=pd.to_datetime(last, utc=True) if last is not None else None,
            ingests=len(runs),
            rows_rejected=sum(run[0] for run in runs),
            rows_redelivered=sum(run[1] for run in runs),
            rejected_by_reason=by_reason,
            balance_locations=int(one(  # type: ignore[call-overload]
                "SELECT COUNT(DISTINCT location) FROM balances WHERE qty <> 0")),
            balance_skus=int(one(  # type: ignore[call-overload]
                "SELECT COUNT(DISTINCT sku) FROM balances WHERE qty <> 0")),
            negative_balances=int(one(  # type: ignore[call-overload]
                "SELECT COUNT(*) FROM balances WHERE qty < 0")),
        )
