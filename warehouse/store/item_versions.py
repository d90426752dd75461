"""Item-master versions: a changed ``case_qty`` or ``unit_weight_kg`` is kept, not ignored.

The first time the store sees a SKU it records version 1 (in force from the start of the
record). A later items file, or an item-master event, that gives a stored SKU another case
quantity or unit weight adds the next version with the time it took effect (the row's
``effective_from`` column where a file carries one, else when it was recorded) and makes it
the item master's current value, so later case-unit rows convert with it. Rows that change
neither field change nothing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from warehouse.store.bulk import BulkWriter, SqliteWriter

VERSIONED = ("case_qty", "unit_weight_kg")
"""The item-master fields whose history is kept."""
EFFECTIVE_COLUMN = "effective_from"
"""An items-file column (outside the contract) naming when a row's values took effect."""


def record_versions(writer: BulkWriter, frame: pd.DataFrame, *, source: str,
                    recorded_at: datetime) -> tuple[pd.DataFrame, int]:
    """Version the item rows in ``frame`` inside the writer's open transaction.

    Args:
        writer: the ingest's (or event's) open write transaction.
        frame: item rows (``sku``, ``case_qty``, optionally ``unit_weight_kg`` and
            :data:`EFFECTIVE_COLUMN`); for a stored SKU a missing value keeps the stored one
            (a new SKU needs its ``case_qty``).
        source: what brought the rows (kept on each version).
        recorded_at: when they arrived.

    Returns:
        The rows whose SKU is new to the store (the caller inserts them into ``items``),
        and how many stored SKUs got a new version.
    """
    site = [writer.site]
    stored = {sku: (cq, uw) for sku, cq, uw in
              writer.query("SELECT sku, case_qty, unit_weight_kg FROM items WHERE site = {p}",
                           site)}
    if not versions_kept(writer):  # a schema before 0003: stored rows stand, as they did
        return frame[~frame["sku"].isin(stored).to_numpy()], 0
    latest = dict(writer.query("SELECT sku, MAX(version) FROM item_versions WHERE site = {p} "
                               "GROUP BY sku", site))
    new = ~frame["sku"].isin(stored).to_numpy()
    rows: list[dict[str, object]] = []
    changed = 0
    for rec in frame.to_dict("records"):
        sku = rec["sku"]
        if sku not in stored:
            rows.append(_version(rec, 1, _effective(rec, None), recorded_at, source))
            continue
        old_qty, old_weight = stored[sku]
        qty = int(old_qty) if _missing(rec.get("case_qty")) else int(rec["case_qty"])
        weight = _weight(old_weight) if _missing(rec.get("unit_weight_kg")) \
            else _weight(rec["unit_weight_kg"])
        if qty == int(old_qty) and _same(weight, _weight(old_weight)):
            continue
        version = int(latest.get(sku) or 0)
        if version == 0:  # stored before versions were kept: its value so far is version 1
            rows.append(_version({"sku": sku, "case_qty": old_qty,
                                  "unit_weight_kg": old_weight}, 1, None, recorded_at,
                                 "item master before versions were kept"))
            version = 1
        rows.append(_version({"sku": sku, "case_qty": qty, "unit_weight_kg": weight},
                             version + 1, _effective(rec, recorded_at), recorded_at, source))
        _update_item(writer, sku, qty, weight)
        changed += 1
    if rows:
        writer.insert("item_versions", pd.DataFrame(rows))
    return frame[new], changed


def versions_kept(writer: BulkWriter) -> bool:
    """Whether the database has the ``item_versions`` table (migration 0003 and later)."""
    if isinstance(writer, SqliteWriter):
        sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = {p}"
    else:
        sql = "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = {p} " \
              "AND table_schema = current_schema()"
    return bool(writer.query(sql, ["item_versions"])[0][0])


def _version(rec: Mapping[Any, Any], version: int, effective: pd.Timestamp | None,
             recorded_at: datetime, source: str) -> dict[str, object]:
    return {"sku": rec.get("sku"), "version": version, "effective_at": effective,
            "recorded_at": pd.Timestamp(recorded_at), "case_qty": int(rec["case_qty"]),
            "unit_weight_kg": _weight(rec.get("unit_weight_kg")), "source": source}


def _effective(rec: Mapping[Any, Any], default: datetime | None) -> pd.Timestamp | None:
    """The row's ``effective_from`` (naive = UTC), else ``default``.

    Raises:
        ValueError: ``effective_from`` is given but is not a time (names the SKU).
    """
    raw = rec.get(EFFECTIVE_COLUMN)
    if isinstance(raw, datetime):
        raw = raw.isoformat()
    if isinstance(raw, str) and raw.strip() and raw.strip().lower() not in ("nan", "none"):
        try:
            ts = pd.Timestamp(raw.strip())
        except ValueError:
            raise ValueError(f"items: {EFFECTIVE_COLUMN} of {rec.get('sku')} is not a time: "
                             f"{raw!r}") from None
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return pd.Timestamp(default) if default is not None else None


def _missing(value: object) -> bool:
    """No value given (a missing field or an empty cell): the stored one stands."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _weight(value: object) -> float | None:
    return None if _missing(value) else float(value)  # type: ignore[arg-type]


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def _update_item(writer: BulkWriter, sku: str, case_qty: int, weight: float | None) -> None:
    p = writer.placeholder
    cursor = writer.raw.cursor()
    cursor.execute(f"UPDATE items SET case_qty = {p}, unit_weight_kg = {p} "
                   f"WHERE site = {p} AND sku = {p}", (case_qty, weight, writer.site, sku))
    cursor.close()
