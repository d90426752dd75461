"""Ingest: contract files (or API batches) into the store, balances carried forward.

Each chunk is checked by the loader, stripped of re-delivered txn_ids (within the chunk and
against the store), given posting sequence numbers, written with bulk inserts together
with its ledger legs, and moves the running balances on; the balances table is written
once at the end. Everything happens in one transaction; the next chunk is read and checked
while the current one is written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.contract import ITEM_COLUMNS, LOCATION_COLUMNS, TRANSACTION_COLUMNS
from warehouse.errors import UserError
from warehouse.loader import (
    CHUNK_ROWS,
    LoadProgress,
    LoadReport,
    RejectSink,
    add_eaches,
    find_table,
    read_master,
    read_transactions,
    reference_warnings,
)
from warehouse.store.bulk import BulkWriter
from warehouse.store.item_versions import record_versions
from warehouse.store.ledger import LEG_COLUMNS, RunningBalances, legs
from warehouse.store.read_ahead import read_ahead

STORED_TRANSACTION_COLUMNS = ["seq", *TRANSACTION_COLUMNS, "eaches", "extras", "ingest_id"]
MASTER = {"items": ("sku", ITEM_COLUMNS), "locations": ("location_id", LOCATION_COLUMNS)}


class Appender:
    """Appends transaction chunks inside one open write transaction."""

    def __init__(self, writer: BulkWriter, report: LoadReport, ingest_id: int | None) -> None:
        self.writer = writer
        self.report = report
        self.report.tables.setdefault("transactions", 0)
        self.warnings: Counter[str] = Counter()
        """Reference warnings, added to the report by :meth:`finish` (the reader of the
        next chunk may be adding its own to the report meanwhile)."""
        self.ingest_id = ingest_id
        last = writer.query("SELECT COALESCE(MAX(seq), 0) FROM transactions")[0][0]
        self.next_seq = int(last) + 1
        """Posting numbers are global: each site's rows keep their posting order."""
        self.log_was_empty = self.next_seq == 1
        """Whether no site's log held rows before this appender."""
        self.stored_before = bool(writer.query(
            "SELECT COUNT(*) FROM (SELECT 1 FROM transactions WHERE site = {p} LIMIT 1) s",
            [writer.site])[0][0])
        """Whether the site's log held rows before this appender: each chunk's ids are then
        looked up in the store."""
        self.own_ids: list[pa.Array] = []
        """The ids this appender stored: only ids among them are looked up in a log that
        started empty (Arrow's hash look-up, no Python object per id)."""
        self.refresh_master()
        stored = writer.query("SELECT sku, location, qty, last_seq FROM balances "
                              "WHERE site = {p}", [writer.site])
        self.balances = RunningBalances(pd.DataFrame(stored, columns=["sku", "location", "qty",
                                                                      "last_seq"]))

    def refresh_master(self) -> None:
        """Re-read the item master's case quantities and the known locations."""
        site = [self.writer.site]
        items = self.writer.query("SELECT sku, case_qty FROM items WHERE site = {p}", site)
        self.case_qty = pd.Series(dict(items), dtype="float64")
        places = self.writer.query("SELECT location_id FROM locations WHERE site = {p}", site)
        self.locations = pd.Index([row[0] for row in places])

    def append(self, chunk: pd.DataFrame) -> int:
        """Store the chunk's new transactions and their legs; rows stored."""
        ids = pa.array(chunk["txn_id"], type=pa.string())
        fresh = ~chunk["txn_id"].duplicated(keep="first").to_numpy()
        maybe_stored = (np.ones(len(ids), dtype=bool) if self.stored_before
                        else self._among_own(ids))
        if maybe_stored.any():
            stored = self.writer.existing_ids(ids.filter(pa.array(maybe_stored)).to_pylist())
            if stored:
                fresh &= ~pc.is_in(ids, value_set=pa.array(list(stored), pa.string())
                                   ).to_numpy(zero_copy_only=False)
        if not self.stored_before:
            self.own_ids.append(ids.filter(pa.array(fresh)))
        self.report.redelivered += int((~fresh).sum())
        chunk = chunk[fresh].reset_index(drop=True)
        if chunk.empty:
            return 0
        add_eaches(chunk, self.case_qty)
        self.warnings.update(reference_warnings(chunk, self.case_qty.index, self.locations))
        chunk["seq"] = np.arange(self.next_seq, self.next_seq + len(chunk), dtype=np.int64)
        chunk["extras"] = extras_json(chunk, [*TRANSACTION_COLUMNS, "eaches", "seq"])
        chunk["ingest_id"] = self.ingest_id
        self.writer.insert("transactions", chunk[STORED_TRANSACTION_COLUMNS])
        ledger = self.balances.apply(legs(chunk))
        self.writer.insert("balance_history", ledger[LEG_COLUMNS])
        self.next_seq += len(chunk)
        self.report.rows_loaded += len(chunk)
        self.report.tables["transactions"] += len(chunk)
        return len(chunk)

    def _among_own(self, ids: pa.Array) -> np.ndarray:
        """Mask of ``ids`` this appender already stored."""
        if not self.own_ids:
            return np.zeros(len(ids), dtype=bool)
        mine = pa.chunked_array(self.own_ids, pa.string())
        return pc.is_in(ids, value_set=mine).to_numpy(zero_copy_only=False)

    def finish(self) -> None:
        """Write the balances touched by this transaction; report the warnings."""
        self.report.warnings.update(self.warnings)
        self.writer.upsert_balances(self.balances.changed_rows())


def ingest_path(writer: BulkWriter, path: Path, *, rejects_path: Path | None, progress: bool,
                chunksize: int = CHUNK_ROWS) -> LoadReport:
    """Ingest a dataset folder (or one transactions file) inside ``writer``'s transaction.

    A folder's items and locations files are required until the store holds master data;
    rows whose key is already stored are left as stored (first delivery wins) and counted
    as re-delivered. Into an empty transaction log (no site's rows), the secondary indexes
    of the log and the ledger are dropped for the load and built once at its end (same
    transaction).
    """
    started = datetime.now(UTC)
    report = LoadReport()
    sink = RejectSink(report, rejects_path)
    ingest_id = int(writer.query("SELECT COALESCE(MAX(id), 0) FROM ingest_runs")[0][0]) + 1
    try:
        with LoadProgress(progress) as bars:
            for table, file in _master_files(writer, path):
                _ingest_master(writer, file, table, sink, bars,
                               source=f"ingest {ingest_id}: {file}", started=started)
            appender = Appender(writer, report, ingest_id)
            rebuild = [] if not appender.log_was_empty else [
                statement for table in ("transactions", "balance_history")
                for statement in writer.defer_indexes(table)]
            for chunk in read_ahead(_transaction_chunks(path, sink, bars, chunksize)):
                appender.append(chunk)
            appender.finish()
            writer.rebuild_indexes(rebuild)
    finally:
        sink.close()
    _record_run(writer, ingest_id, str(path), started, report)
    return report


def _master_files(writer: BulkWriter, path: Path) -> Iterator[tuple[str, Path]]:
    if path.is_file():
        return
    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    for table in MASTER:
        stored = writer.query(f"SELECT COUNT(*) FROM {table} WHERE site = {{p}}",
                              [writer.site])[0][0]
        file = find_table(path, table, required=not stored)
        if file is not None:
            yield table, file


def _transaction_chunks(path: Path, sink: RejectSink, bars: LoadProgress,
                        chunksize: int) -> Iterator[pd.DataFrame]:
    file = path if path.is_file() else find_table(path, "transactions")
    assert file is not None
    return read_transactions(file, sink, bars, chunksize=chunksize)


def _ingest_master(writer: BulkWriter, file: Path, table: str, sink: RejectSink,
                   bars: LoadProgress, *, source: str, started: datetime) -> None:
    """Insert the master rows with new keys; stored keys are re-deliveries.

    Except items whose case quantity or unit weight changed: those add an item-master version.
    """
    key, contract = MASTER[table]
    frame = read_master(file, table, sink, bars)
    if frame.empty:
        return
    changed = 0
    if table == "items":
        try:
            fresh, changed = record_versions(writer, frame, source=source, recorded_at=started)
        except ValueError as exc:
            raise UserError(f"{file}: {exc}") from None
        known = ~frame[key].isin(fresh[key]).to_numpy()
        sink.report.tables["item_versions"] = changed
    else:
        stored = {row[0] for row in writer.query(f"SELECT {key} FROM {table} WHERE site = {{p}}",
                                                 [writer.site])}
        known = frame[key].isin(stored).to_numpy()
    if known.any():
        repeated = int(known.sum()) - changed
        sink.report.redelivered += repeated
        sink.report.rows_loaded -= repeated
        sink.report.tables[table] -= int(known.sum())
        frame = frame[~known]
    frame = frame.assign(extras=extras_json(frame, contract))
    writer.insert(table, frame[[*contract, "extras"]])


def extras_json(frame: pd.DataFrame, known: list[str]) -> pd.Series:
    """Each row's columns outside ``known`` as a JSON object (None when it has none)."""
    extra = [c for c in frame.columns if c not in known and c not in ("extras", "ingest_id")]
    if not extra:
        return pd.Series(None, index=frame.index, dtype="object")
    records = frame[extra].to_dict("records")
    texts = [json.dumps({k: v for k, v in r.items() if isinstance(v, str)}, ensure_ascii=False)
             for r in records]
    return pd.Series([t if t != "{}" else None for t in texts], index=frame.index,
                     dtype="object")


def _record_run(writer: BulkWriter, ingest_id: int, source: str, started: datetime,
                report: LoadReport) -> None:
    writer.insert("ingest_runs", pd.DataFrame([{
        "id": ingest_id, "source": source,
        "started_at": pd.Timestamp(started), "finished_at": pd.Timestamp(datetime.now(UTC)),
        "rows_read": report.rows_read, "rows_loaded": report.rows_loaded,
        "rejected": report.rejected, "redelivered": report.redelivered,
        "rejected_by_reason": json.dumps(dict(report.rejected_by_reason)),
        "warnings": json.dumps(dict(report.warnings)),
        "rejects_path": str(report.rejects_path) if report.rejects_path else None,
    }]))
