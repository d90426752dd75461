"""Reading one table's file through its contract checks, chunk by chunk."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from warehouse.contract import (
    ITEM_REQUIRED,
    LOCATION_REQUIRED,
    TRANSACTION_REQUIRED,
)
from warehouse.loader.progress import LoadProgress
from warehouse.loader.report import RejectSink
from warehouse.loader.sources import RawChunk, SourceFile
from warehouse.loader.tables import (
    LABEL_REQUIRED,
    Checked,
    broken_rows,
    check_items,
    check_labels,
    check_locations,
    check_transactions,
    require_columns,
)

CHUNK_ROWS = 200_000
"""Rows per chunk: bounds memory for files of millions of rows."""

MASTER_TABLES: dict[str, tuple[Callable[[RawChunk, str], Checked], list[str], str]] = {
    "items": (check_items, ITEM_REQUIRED, "sku"),
    "locations": (check_locations, LOCATION_REQUIRED, "location_id"),
    "labels": (check_labels, LABEL_REQUIRED, "case_id"),
}


def _chunks(path: Path, required: list[str], sink: RejectSink, bars: LoadProgress,
            chunksize: int) -> Iterator[RawChunk]:
    """The file's raw chunks; broken lines go to the sink, missing columns raise."""
    source = SourceFile(path)
    moved = bars.watch(source)
    seen_header = False
    try:
        for chunk in source.chunks(chunksize):
            if not seen_header and not path.name.endswith((".jsonl", ".jsonl.gz")):
                require_columns(list(chunk.frame.columns), required, path)
            seen_header = True
            sink.report.rows_read += len(chunk.frame) + len(chunk.broken)
            sink.add(broken_rows(chunk, str(path)))
            yield chunk
            moved()
        if not seen_header and not path.name.endswith((".jsonl", ".jsonl.gz")):
            require_columns([], required, path)
    finally:
        source.close()


def read_master(path: Path, table: str, sink: RejectSink, bars: LoadProgress, *,
                chunksize: int = CHUNK_ROWS) -> pd.DataFrame:
    """A whole master-data table (items, locations or labels), first row per key kept.

    A later row with a key already seen is rejected with code ``duplicate``.
    """
    check, required, key = MASTER_TABLES[table]
    parts: list[pd.DataFrame] = []
    lines: list[pd.Series] = []
    for chunk in _chunks(path, required, sink, bars, chunksize):
        good, rejects = check(chunk, str(path))
        sink.add(rejects)
        parts.append(good)
        lines.append(pd.Series(chunk.lines[good.index.to_numpy()]))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if frame.empty:
        sink.report.tables[table] = 0
        return frame
    line = pd.concat(lines, ignore_index=True)
    repeated = frame.duplicated(key, keep="first").to_numpy()
    if repeated.any():
        sink.add(pd.DataFrame({
            "file": str(path), "line": line[repeated].to_numpy(), "field": key,
            "code": "duplicate",
            "reason": "repeats " + frame.loc[repeated, key] + ", kept the first row",
        }))
    frame = frame[~repeated].reset_index(drop=True)
    sink.report.rows_loaded += len(frame)
    sink.report.tables[table] = len(frame)
    return frame


def read_transactions(path: Path, sink: RejectSink, bars: LoadProgress, *,
                      chunksize: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Valid transaction rows of a file, a chunk at a time, in file order.

    Rejects go to the sink as they are found; re-deliveries are left to the consumer (the
    in-memory loader drops repeats, the store also skips ids it already holds), which
    also counts ``rows_loaded``.
    """
    for chunk in _chunks(path, TRANSACTION_REQUIRED, sink, bars, chunksize):
        good, rejects, naive = check_transactions(chunk, str(path))
        sink.add(rejects)
        if naive:
            sink.report.warnings["naive_ts"] += naive
        yield good
