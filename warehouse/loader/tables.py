"""Contract rules per table: raw string chunks in, typed rows and rejects out.

Each ``check_*`` function takes a :class:`RawChunk` and returns the rows that keep the
contract (in the dtypes of :mod:`warehouse.dataset`, unknown columns kept as strings after
the contract's) and a rejects frame with one row per bad input row. Missing required
*columns* are not row problems: :func:`require_columns` raises a one-line UserError.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from warehouse.contract import (
    ITEM_COLUMNS,
    ITEM_REQUIRED,
    LABEL_COLUMNS,
    LOCATION_COLUMNS,
    LOCATION_REQUIRED,
    MAX_NOTE_CHARS,
    TEXT_LIMITS,
    TRANSACTION_COLUMNS,
    TRANSACTION_REQUIRED,
    TYPES_WITH_DESTINATION,
    LocationType,
    RootCause,
    TxnType,
    Uom,
)
from warehouse.errors import UserError
from warehouse.loader.checks import RowChecks
from warehouse.loader.sources import RawChunk

UOM_ALIASES = {"EACH": "EA", "EACHES": "EA", "PC": "EA", "PCS": "EA", "UNIT": "EA",
               "CASE": "CS", "CASES": "CS"}
TYPE_ALIASES = {"CYCLECOUNT": "CYCLE_COUNT", "COUNT": "CYCLE_COUNT", "ADJUST": "ADJUSTMENT"}
POSITIVE_TYPES = [t.value for t in (TxnType.RECEIPT, TxnType.PUTAWAY, TxnType.PICK,
                                    TxnType.MOVE, TxnType.RETURN)]
LABEL_REQUIRED = ["case_id", "root_cause", "txn_ids"]
_CONTROLS = "[\\x00-\\x1f\\x7f-\\x9f]"
"""Control characters (Unicode category Cc), refused in ids and codes."""
_NOTE_CONTROLS = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]"
"""Control characters but tab and line breaks, refused in a note."""

Checked = tuple[pd.DataFrame, pd.DataFrame]


def require_columns(columns: list[str], required: list[str], path: Path) -> None:
    """Raise a UserError naming the file and any required column it lacks."""
    missing = [c for c in required if c not in columns]
    if missing:
        raise UserError(f"{path}: missing required column(s) {', '.join(missing)}"
                        f" (found: {', '.join(columns) or 'none'})")


def _frame(chunk: RawChunk, contract: list[str]) -> pd.DataFrame:
    """The chunk with every contract column present (NaN where the file lacks it)."""
    absent = {c: pd.Series(np.nan, index=chunk.frame.index, dtype="str")
              for c in contract if c not in chunk.frame.columns}
    frame = chunk.frame.assign(**absent) if absent else chunk.frame
    return frame[[*contract, *extra_columns(chunk.frame, contract)]]


def extra_columns(frame: pd.DataFrame, contract: list[str]) -> list[str]:
    """Columns of ``frame`` outside the contract, in file order."""
    return [c for c in frame.columns if c not in contract]


def check_items(chunk: RawChunk, file: str) -> Checked:
    """Item master rows: sku, description, case_qty (whole, >= 1) required."""
    frame = _frame(chunk, ITEM_COLUMNS)
    checks = RowChecks(frame, file, chunk.lines)
    checks.require(ITEM_REQUIRED)
    case_qty = checks.number("case_qty", integer=True)
    checks.fail(case_qty < 1, "case_qty", "out_of_range", "must be a whole number >= 1")
    weight = checks.number("unit_weight_kg")
    checks.fail(weight <= 0, "unit_weight_kg", "out_of_range", "must be > 0")
    cost = checks.number("unit_cost")
    checks.fail(cost < 0, "unit_cost", "out_of_range", "must be >= 0")
    good = ~checks.bad
    out = frame[good].copy()
    out["case_qty"] = case_qty[good].astype("int64")
    out["unit_weight_kg"] = weight[good]
    out["unit_cost"] = cost[good]
    return out, checks.rejects()


def check_locations(chunk: RawChunk, file: str) -> Checked:
    """Location rows: location_id, zone and a contract type required; numbers parse."""
    frame = _frame(chunk, LOCATION_COLUMNS)
    checks = RowChecks(frame, file, chunk.lines)
    checks.require(LOCATION_REQUIRED)
    kind = checks.enum("type", [t.value for t in LocationType], "unknown_type")
    numbers = {c: checks.number(c, integer=c == "level")
               for c in ("x_m", "y_m", "level", "max_weight_kg")}
    checks.fail(numbers["max_weight_kg"] < 0, "max_weight_kg", "out_of_range", "must be >= 0")
    good = ~checks.bad
    out = frame[good].copy()
    out["type"] = kind[good]
    for column, values in numbers.items():
        out[column] = values[good]
    return out, checks.rejects()


def check_transactions(chunk: RawChunk, file: str) -> tuple[pd.DataFrame, pd.DataFrame,
                                                            int]:
    """Transaction rows, and how many had a time without an offset (taken as UTC).

    Rejects: a required field empty, an unknown type or uom, an unparsable number or time,
    a quantity <= 0 where the type needs a positive one (negative for CYCLE_COUNT, 0 for
    ADJUSTMENT), no to_location on PUTAWAY or MOVE, a negative weight, an id or code longer
    than the store keeps (:data:`warehouse.contract.TEXT_LIMITS`) or holding a control
    character, a note over :data:`warehouse.contract.MAX_NOTE_CHARS`. The event API refuses
    the same rows (``tests/api/test_rules_agree.py``).
    """
    frame = _frame(chunk, TRANSACTION_COLUMNS)
    checks = RowChecks(frame, file, chunk.lines)
    checks.require(TRANSACTION_REQUIRED)
    kind = checks.enum("type", [t.value for t in TxnType], "unknown_type", TYPE_ALIASES)
    ts, naive = checks.times("ts")
    qty = checks.number("qty")
    positive = kind.isin(POSITIVE_TYPES)
    checks.fail(positive & (qty <= 0), "qty", "out_of_range",
                "must be positive for " + kind.fillna(""))
    checks.fail((kind == TxnType.CYCLE_COUNT.value) & (qty < 0), "qty", "out_of_range",
                "a counted quantity cannot be negative")
    checks.fail((kind == TxnType.ADJUSTMENT.value) & (qty == 0), "qty", "out_of_range",
                "an ADJUSTMENT is signed and not 0 (+ found, - lost)")
    uom = checks.enum("uom", [u.value for u in Uom], "unknown_uom", UOM_ALIASES)
    needs_destination = kind.isin([t.value for t in TYPES_WITH_DESTINATION])
    checks.fail(needs_destination & frame["to_location"].isna(), "to_location", "missing",
                "required for " + kind.fillna(""))
    weight = checks.number("weight_kg")
    checks.fail(weight < 0, "weight_kg", "out_of_range", "must be >= 0")
    expected = checks.number("expected_qty")
    checks.bounded(TEXT_LIMITS, _CONTROLS, list(TEXT_LIMITS))
    checks.bounded({"note": MAX_NOTE_CHARS}, _NOTE_CONTROLS, ["note"])
    good = ~checks.bad
    out = frame[good].copy()
    out["ts"] = ts[good]
    out["type"] = kind[good]
    out["qty"] = qty[good]
    out["uom"] = uom[good].fillna(Uom.EA.value)
    out["weight_kg"] = weight[good]
    out["expected_qty"] = expected[good]
    return out.reset_index(drop=True), checks.rejects(), int((naive & good).sum())


def check_labels(chunk: RawChunk, file: str) -> Checked:
    """Ground-truth rows: case_id, a known root_cause and txn_ids required."""
    frame = _frame(chunk, LABEL_COLUMNS)
    checks = RowChecks(frame, file, chunk.lines)
    checks.require(LABEL_REQUIRED)
    cause = checks.enum("root_cause", [c.value for c in RootCause], "unknown_root_cause")
    good = ~checks.bad
    out = frame[good].copy()
    out["root_cause"] = cause[good]
    return out, checks.rejects()


def broken_rows(chunk: RawChunk, file: str) -> pd.DataFrame:
    """Lines of the chunk that did not parse into a row at all, as rejects."""
    return pd.DataFrame({
        "file": file,
        "line": np.asarray([line for line, _ in chunk.broken], dtype=np.int64),
        "field": "row",
        "code": "malformed",
        "reason": [reason for _, reason in chunk.broken],
    })
