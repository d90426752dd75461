"""The event contract's rules beyond field types, as the event API and the queue enforce them.

A posted row is refused (by index, naming the field) when it breaks CONTRACT.md section 1:

- numbers must be finite: NaN, Infinity and values that overflow to it (``1e309``) are
  refused, and a boolean is not a number (``true`` is not a quantity);
- quantities carry the sign their type allows: RECEIPT, PUTAWAY, PICK, MOVE and RETURN are
  positive, ADJUSTMENT is signed but not 0, a CYCLE_COUNT is a counted quantity (>= 0);
  weights are >= 0;
- text is bounded: ids and codes as long as the store keeps them, a note at most
  :data:`MAX_NOTE_CHARS`, the extra fields together at most :data:`MAX_EXTRAS_CHARS`;
- ids and codes hold no control characters (NUL and friends); a note may hold line breaks
  and tabs but no other control character;
- a ``txn_id`` already stored is a re-delivery: the same payload is accepted again and
  changes nothing, another payload is a conflict (:func:`find_conflicts`).
"""

from __future__ import annotations

import json
import math
import unicodedata
import weakref
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Engine, bindparam, inspect, text

from warehouse.contract import (
    MAX_NOTE_CHARS,
    TEXT_LIMITS,
    TRANSACTION_COLUMNS,
    Transaction,
    TxnType,
)
from warehouse.loader.tables import POSITIVE_TYPES
from warehouse.sites import DEFAULT_SITE

NUMBER_FIELDS = ("qty", "weight_kg", "expected_qty")
"""Contract fields that are numbers."""
MAX_EXTRAS_CHARS = 8000
"""Longest the fields beyond the contract may be together, as JSON characters."""
NOTE_WHITESPACE = frozenset("\t\n\r")


class RowError(BaseModel):
    """Why one posted row was rejected."""

    index: int
    field: str
    message: str
    conflict: bool = Field(default=False, description="its txn_id is stored with another "
                           "payload (a re-delivery must repeat the stored one exactly)")


def raw_problems(row: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems visible before type coercion: booleans as numbers, non-finite numbers."""
    found = []
    for name in NUMBER_FIELDS:
        value = row.get(name)
        if isinstance(value, bool):
            found.append((name, f"must be a number, not a boolean ({json.dumps(value)})"))
        elif isinstance(value, float) and not math.isfinite(value):
            found.append((name, f"must be a finite number, not {value}"))
    return found


def contract_problems(txn: Transaction) -> list[tuple[str, str]]:
    """Problems of a type-valid event: finite numbers, signs, text bounds, control chars."""
    found = []
    for name in NUMBER_FIELDS:
        value = getattr(txn, name)
        if value is not None and not math.isfinite(value):
            found.append((name, f"must be a finite number, not {value}"))
    if not found:
        found.extend(_sign_problems(txn))
    for name, limit in TEXT_LIMITS.items():
        value = getattr(txn, name)
        if value is None:
            continue
        if len(value) > limit:
            found.append((name, f"at most {limit} characters, got {len(value)}"))
        elif _controls(value):
            found.append((name, "must not contain control characters "
                                f"({', '.join(_controls(value))})"))
    if txn.note is not None:
        if len(txn.note) > MAX_NOTE_CHARS:
            found.append(("note", f"at most {MAX_NOTE_CHARS} characters, got {len(txn.note)}"))
        elif _controls(txn.note, allowed=NOTE_WHITESPACE):
            found.append(("note", "must not contain control characters other than line "
                                  f"breaks and tabs ({', '.join(_controls(txn.note))})"))
    found.extend(_extras_problems(txn))
    return found


def _sign_problems(txn: Transaction) -> list[tuple[str, str]]:
    found = []
    if txn.type.value in POSITIVE_TYPES and txn.qty <= 0:
        found.append(("qty", f"must be > 0 for {txn.type.value}, got {txn.qty:g}"))
    elif txn.type is TxnType.ADJUSTMENT and txn.qty == 0:
        found.append(("qty", "an ADJUSTMENT is signed and not 0 (+ found, - lost)"))
    elif txn.type is TxnType.CYCLE_COUNT and txn.qty < 0:
        found.append(("qty", f"a counted quantity is >= 0, got {txn.qty:g}"))
    if txn.weight_kg is not None and txn.weight_kg < 0:
        found.append(("weight_kg", f"must be >= 0, got {txn.weight_kg:g}"))
    return found


def _extras_problems(txn: Transaction) -> list[tuple[str, str]]:
    extras = {k: v for k, v in (txn.model_extra or {}).items() if k not in TRANSACTION_COLUMNS}
    if not extras:
        return []
    try:
        size = len(json.dumps(extras, allow_nan=False))
    except (ValueError, TypeError):
        return [("extras", "fields beyond the contract must be finite JSON values")]
    if size > MAX_EXTRAS_CHARS:
        return [("extras", f"fields beyond the contract are {size} characters of JSON, "
                           f"at most {MAX_EXTRAS_CHARS}")]
    return []


def _controls(text: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """The control characters in ``text`` (as U+XXXX), first few."""
    seen = dict.fromkeys(f"U+{ord(c):04X}" for c in text
                         if c not in allowed and unicodedata.category(c) == "Cc")
    return list(seen)[:3]


def find_conflicts(engine: Engine | None, rows: list[tuple[int, Transaction]],
                   site: str = DEFAULT_SITE,
                   ) -> tuple[list[tuple[int, Transaction]], list[RowError]]:
    """Split valid rows into those to store and re-deliveries with another payload.

    A row whose ``txn_id`` is stored at ``site`` (or came earlier in the same batch) with the
    same contract fields is an idempotent re-delivery and is kept (storing it changes nothing);
    with any field different it is a conflict, named by index. Without a ``transactions``
    table (a store stand-in) only the batch itself is checked.
    """
    stored = _stored(engine, sorted({t.txn_id for _, t in rows}), site)
    kept: list[tuple[int, Transaction]] = []
    conflicts: list[RowError] = []
    for index, txn in rows:
        posted = _payload(txn)
        before = stored.get(txn.txn_id)
        if before is None:
            stored[txn.txn_id] = posted
            kept.append((index, txn))
            continue
        diff = next((name for name in TRANSACTION_COLUMNS
                     if not _same(name, before[name], posted[name])), None)
        if diff is None:
            kept.append((index, txn))
            continue
        conflicts.append(RowError(
            index=index, field="txn_id", conflict=True,
            message=f"{txn.txn_id} is already stored with another payload ({diff}: stored "
                    f"{before[diff]!r}, posted {posted[diff]!r}); a re-delivery must repeat it"))
    return kept, conflicts


def _payload(txn: Transaction) -> dict[str, Any]:
    row = txn.model_dump(mode="json")
    return {name: row.get(name) for name in TRANSACTION_COLUMNS}


_WITH_LOG: weakref.WeakSet[Engine] = weakref.WeakSet()
"""Engines seen to hold a ``transactions`` table (a table once there stays: no inspection
per posted event, which cost as much as the rest of the request)."""


def _has_log(engine: Engine) -> bool:
    if engine not in _WITH_LOG and inspect(engine).has_table("transactions"):
        _WITH_LOG.add(engine)
    return engine in _WITH_LOG


def _stored(engine: Engine | None, ids: list[str], site: str) -> dict[str, dict[str, Any]]:
    if engine is None or not ids or not _has_log(engine):
        return {}
    columns = ", ".join(TRANSACTION_COLUMNS)
    query = text(f"SELECT {columns} FROM transactions WHERE site = :site AND txn_id IN :ids"
                 ).bindparams(bindparam("ids", expanding=True))
    found: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), 500):
            for row in conn.execute(query, {"ids": ids[start:start + 500],
                                            "site": site}).mappings():
                found[row["txn_id"]] = dict(row)
    return found


def _same(name: str, stored: Any, posted: Any) -> bool:
    """One field's stored and posted values mean the same (times as instants, numbers close)."""
    if stored is None or posted is None:
        return stored is None and posted is None
    if name == "ts":
        try:
            return _instant(stored) == _instant(posted)
        except ValueError:
            return False
    if isinstance(stored, int | float) and not isinstance(stored, bool):
        try:
            return math.isclose(float(stored), float(posted), rel_tol=1e-9, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return str(stored) == str(posted)


def _instant(value: Any) -> datetime:
    """A stored or posted time as an aware UTC instant (the store keeps UTC)."""
    ts = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)
