"""Small appends (the event API): a few rows as plain tuples, no pandas or Arrow per row.

The rows land in one transaction under the ingest lock (``BEGIN IMMEDIATE`` on SQLite,
the advisory lock on PostgreSQL), so the posting ``seq`` read there as ``MAX(seq)`` is
correct with several writer processes. Re-delivered txn_ids are skipped. Each touched
(sku, location) balance moves by one UPSERT that adds the key's deltas and returns the new
balance, from which each leg's ``balance_after`` follows: the balances table is never read
whole. Legs follow the rules of :mod:`warehouse.store.ledger`, so the ledger is the one a
bulk ingest of the same rows writes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from itertools import accumulate
from typing import Any

from warehouse.contract import BALANCE_SIGN, TRANSACTION_COLUMNS, TYPES_WITH_DESTINATION, Uom
from warehouse.store.bulk import BulkWriter
from warehouse.store.ingest import STORED_TRANSACTION_COLUMNS
from warehouse.store.ledger import LEG_COLUMNS

SMALL_APPEND_ROWS = 200
"""Appends below this many rows take this path; larger ones the bulk (Arrow) path."""
_DESTINATION = {t.value for t in TYPES_WITH_DESTINATION}
_KNOWN = {*TRANSACTION_COLUMNS, "eaches", "seq", "extras", "ingest_id"}
_ADD_TO_BALANCE = (
    "INSERT INTO balances (site, sku, location, qty, last_seq) "
    "VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT (site, sku, location) "
    "DO UPDATE SET qty = balances.qty + excluded.qty, last_seq = excluded.last_seq RETURNING qty"
)

CaseQty = Callable[[str], float | None]
"""Eaches per case of a SKU, None when the item master does not know it."""


def append_small(writer: BulkWriter, rows: Sequence[Mapping[str, Any]],
                 case_qty: CaseQty) -> int:
    """Store ``rows`` (validated contract rows) inside ``writer``'s open transaction.

    Args:
        writer: a writer whose transaction (and ingest lock) is open.
        rows: contract columns (``ts`` a tz-aware datetime) and possibly extra columns.
        case_qty: eaches per case of a SKU.

    Returns:
        The number of new rows stored (re-delivered txn_ids are skipped).
    """
    fresh = _fresh(writer, rows)
    if not fresh:
        return 0
    seq = int(writer.query("SELECT COALESCE(MAX(seq), 0) FROM transactions")[0][0]) + 1
    records = []
    legs: list[tuple[int, int, str, str, float]] = []
    for offset, row in enumerate(fresh):
        record = _stored_record(row, seq + offset, case_qty, writer.time_suffix)
        records.append(record)
        legs.extend(_legs(record))
    _insert(writer, "transactions", STORED_TRANSACTION_COLUMNS, records)
    _insert(writer, "balance_history", LEG_COLUMNS, _balanced(writer, legs))
    return len(records)


def _insert(writer: BulkWriter, table: str, columns: Sequence[str],
            rows: Sequence[tuple[Any, ...]]) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) at the writer's site, one ``executemany``."""
    if not rows:
        return
    places = ", ".join([writer.placeholder] * (len(columns) + 1))
    cursor = writer.raw.cursor()
    cursor.executemany(f"INSERT INTO {table} (site, {', '.join(columns)}) VALUES ({places})",
                       [(writer.site, *row) for row in rows])
    cursor.close()


def _fresh(writer: BulkWriter, rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The rows whose txn_id is new: not stored, and first of its id in ``rows``."""
    stored = writer.existing_ids(list({str(r["txn_id"]) for r in rows}))
    fresh = []
    for row in rows:
        txn_id = str(row["txn_id"])
        if txn_id not in stored:
            stored.add(txn_id)
            fresh.append(row)
    return fresh


def _stored_record(row: Mapping[str, Any], seq: int, case_qty: CaseQty,
                   time_suffix: str) -> tuple[Any, ...]:
    """One ``transactions`` row in :data:`STORED_TRANSACTION_COLUMNS` order."""
    values = {c: _plain(row.get(c)) for c in TRANSACTION_COLUMNS}
    values["txn_id"] = str(values["txn_id"])
    values["ts"] = _utc_text(row["ts"], time_suffix)
    qty = float(values["qty"])
    if values["uom"] == Uom.CS.value:
        per_case = case_qty(values["sku"])
        eaches = None if per_case is None else qty * per_case
    else:
        eaches = qty
    extras = {k: v for k, v in row.items() if k not in _KNOWN and isinstance(v, str)}
    values.update(seq=seq, eaches=eaches, ingest_id=None,
                  extras=json.dumps(extras, ensure_ascii=False) if extras else None)
    return tuple(values[c] for c in STORED_TRANSACTION_COLUMNS)


_AT = {c: i for i, c in enumerate(STORED_TRANSACTION_COLUMNS)}


def _legs(record: tuple[Any, ...]) -> list[tuple[int, int, str, str, float]]:
    """A stored row's legs as (id, seq, sku, location, delta); none without eaches.

    The rules are those of :func:`warehouse.store.ledger.legs`.
    """
    eaches = record[_AT["eaches"]]
    if eaches is None:
        return []
    seq, kind, sku = record[_AT["seq"]], record[_AT["type"]], record[_AT["sku"]]
    out = [(seq * 2, seq, sku, record[_AT["location"]],
            eaches * float(BALANCE_SIGN.get(kind, math.nan)))]
    if kind in _DESTINATION:
        out.append((seq * 2 + 1, seq, sku, record[_AT["to_location"]], eaches))
    return out


def _balanced(writer: BulkWriter, legs: list[tuple[int, int, str, str, float]]
              ) -> list[tuple[int, int, str, str, float, float]]:
    """Move each touched balance on by its legs' deltas; the legs with ``balance_after``.

    One UPSERT per (sku, location) adds the sum of its deltas and returns the new balance;
    the balance after each leg is the balance before plus the deltas so far.
    """
    by_key: dict[tuple[str, str], list[tuple[int, int, str, str, float]]] = {}
    for leg in legs:  # legs are in id order: seq ascending, source before destination
        by_key.setdefault((leg[2], leg[3]), []).append(leg)
    out: list[tuple[int, int, str, str, float, float]] = []
    for (sku, location), key_legs in by_key.items():
        deltas = [leg[4] for leg in key_legs]
        total = sum(deltas)
        after = float(writer.query(_ADD_TO_BALANCE, [writer.site, sku, location, total,
                                                     key_legs[-1][1]])[0][0])
        before = after - total
        out.extend((*leg, before + running) for leg, running in
                   zip(key_legs, accumulate(deltas), strict=True))
    out.sort()
    return out


def _plain(value: Any) -> Any:
    """A database value: None for missing (None, NaN, NA), Python scalars otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalars
        value = value.item()
    try:
        if value != value:  # pd.NA and NaT raise or compare unequal
            return None
    except TypeError:
        return None
    return value


def _utc_text(ts: datetime, time_suffix: str) -> str:
    """A tz-aware time as UTC ``YYYY-MM-DD HH:MM:SS.ffffff`` (digits below a µs dropped)."""
    if hasattr(ts, "to_pydatetime"):  # pandas Timestamp: drop nanoseconds quietly
        ts = ts.to_pydatetime(warn=False)
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts.isoformat(sep=" ", timespec="microseconds") + time_suffix
