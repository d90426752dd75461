"""``load_dataset``: a contract dataset folder into an in-memory :class:`Dataset`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from warehouse.contract import ITEM_COLUMNS, LOCATION_COLUMNS, TRANSACTION_COLUMNS
from warehouse.dataset import Dataset
from warehouse.loader.progress import LoadProgress
from warehouse.loader.read import CHUNK_ROWS, read_master, read_transactions
from warehouse.loader.references import add_eaches, reference_warnings
from warehouse.loader.report import LoadReport, RejectSink
from warehouse.loader.sources import find_table
from warehouse.loader.tables import extra_columns


@dataclass
class LoadResult:
    """A loaded dataset and the report of its load."""

    dataset: Dataset
    report: LoadReport


def load_dataset(path: Path | str, *, rejects_path: Path | None = None,
                 progress: bool = False, chunksize: int = CHUNK_ROWS) -> LoadResult:
    """Load items, locations, transactions (and labels, if present) from a dataset folder.

    Bad rows are rejected with file, line, field and reason (into ``rejects_path`` as CSV
    when given; always counted in the report); every valid row loads. A transaction whose
    txn_id was already read is a re-delivery: the first row wins and the repeat is counted.
    Transactions come back sorted by ``ts`` (stable on file order) with ``eaches``.

    Raises:
        UserError: the folder, a required file or a required column is missing.
    """
    folder = Path(path)
    paths = {table: find_table(folder, table) for table in ("items", "locations",
                                                            "transactions")}
    labels_path = find_table(folder, "labels", required=False)
    report = LoadReport()
    sink = RejectSink(report, rejects_path)
    try:
        with LoadProgress(progress) as bars:
            items = read_master(paths["items"], "items", sink, bars, chunksize=chunksize)
            locations = read_master(paths["locations"], "locations", sink, bars,
                                    chunksize=chunksize)
            chunks = list(read_transactions(paths["transactions"], sink, bars,
                                            chunksize=chunksize))
            labels = read_master(labels_path, "labels", sink, bars) if labels_path else None
    finally:
        sink.close()
    transactions = _one_log(chunks, report)
    items = items.reindex(columns=[*ITEM_COLUMNS, *extra_columns(items, ITEM_COLUMNS)])
    locations = locations.reindex(
        columns=[*LOCATION_COLUMNS, *extra_columns(locations, LOCATION_COLUMNS)])
    add_eaches(transactions, items.set_index("sku")["case_qty"])
    report.warnings.update(reference_warnings(transactions, pd.Index(items["sku"]),
                                              pd.Index(locations["location_id"])))
    extras = {"items": extra_columns(items, ITEM_COLUMNS),
              "locations": extra_columns(locations, LOCATION_COLUMNS),
              "transactions": extra_columns(transactions, [*TRANSACTION_COLUMNS, "eaches"])}
    extras = {table: columns for table, columns in extras.items() if columns}
    transactions = transactions.reindex(
        columns=[*TRANSACTION_COLUMNS, "eaches", *extras.get("transactions", [])])
    dataset = Dataset(items=items, locations=locations, transactions=transactions,
                      labels=labels, extras=extras)
    return LoadResult(dataset=dataset, report=report)


def _one_log(chunks: list[pd.DataFrame], report: LoadReport) -> pd.DataFrame:
    """The chunks as one log: first row per txn_id kept, sorted by ts (stable)."""
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(
        columns=TRANSACTION_COLUMNS)
    repeated = frame["txn_id"].duplicated(keep="first")
    report.redelivered += int(repeated.sum())
    frame = frame[~repeated.to_numpy()]
    report.rows_loaded += len(frame)
    report.tables["transactions"] = len(frame)
    frame = frame.sort_values("ts", kind="stable").reset_index(drop=True)
    if frame["ts"].dtype != "datetime64[us, UTC]":
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True).astype("datetime64[us, UTC]")
    return frame
