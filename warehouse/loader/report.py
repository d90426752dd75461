"""What a load did: counts, rejected rows with their reasons, warnings, the rejects file."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pandas as pd

REJECT_COLUMNS = ["file", "line", "field", "code", "reason"]
KEPT_IN_REPORT = 1000
"""Rejected rows kept in the report itself; the rejects file always holds all of them."""


@dataclass(frozen=True)
class RejectedRow:
    """One row that broke the contract and was not loaded."""

    file: str
    line: int
    field: str
    code: str
    """Short kind of problem (missing, bad_number, bad_time, unknown_type, ...)."""
    reason: str


@dataclass
class LoadReport:
    """Counts of one load (a folder or a file), with rejects and warnings.

    Counts cover the rows of every table read, so ``rows_read == rows_loaded + rejected +
    redelivered``; ``tables`` splits ``rows_loaded`` by table. ``redelivered`` counts
    transaction rows whose txn_id was already loaded, and master-data rows whose key a
    store already holds (a key repeated inside one file is a reject, code ``duplicate``).
    ``warnings`` counts rows that loaded but were repaired or look suspect (e.g.
    ``naive_ts``: a time without a UTC offset, taken as UTC).
    """

    rows_read: int = 0
    rows_loaded: int = 0
    redelivered: int = 0
    rejected: int = 0
    rejects: list[RejectedRow] = field(default_factory=list)
    rejected_by_reason: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    tables: dict[str, int] = field(default_factory=dict)
    """Rows loaded per table (items, locations, transactions, labels)."""
    rejects_path: Path | None = None

    def merge(self, other: LoadReport) -> None:
        """Add another report's counts to this one (incremental ingest of several files)."""
        self.rows_read += other.rows_read
        self.rows_loaded += other.rows_loaded
        self.redelivered += other.redelivered
        self.rejected += other.rejected
        room = KEPT_IN_REPORT - len(self.rejects)
        self.rejects.extend(other.rejects[:max(room, 0)])
        self.rejected_by_reason.update(other.rejected_by_reason)
        self.warnings.update(other.warnings)
        for table, rows in other.tables.items():
            self.tables[table] = self.tables.get(table, 0) + rows
        self.rejects_path = self.rejects_path or other.rejects_path


class RejectSink:
    """Collects rejected rows into a report and, when given a path, a CSV file.

    The file is created on the first reject only, so a clean load leaves nothing behind.
    """

    def __init__(self, report: LoadReport, path: Path | None = None) -> None:
        self.report = report
        self.path = path
        self._handle: IO[str] | None = None
        self._writer: csv.writer | None = None  # type: ignore[valid-type]

    def add(self, rejects: pd.DataFrame) -> None:
        """Record rejected rows: a frame with :data:`REJECT_COLUMNS`, one row per input row."""
        if rejects.empty:
            return
        self.report.rejected += len(rejects)
        keys = rejects["file"].map(lambda f: Path(f).name) + " " + rejects["field"] + ": " \
            + rejects["code"]
        self.report.rejected_by_reason.update(
            {str(key): int(n) for key, n in keys.value_counts().items()})
        room = KEPT_IN_REPORT - len(self.report.rejects)
        if room > 0:
            head = rejects.head(room)
            self.report.rejects.extend(
                RejectedRow(str(file), int(line), str(field), str(code), str(reason))
                for file, line, field, code, reason in zip(
                    head["file"], head["line"], head["field"], head["code"], head["reason"],
                    strict=True)
            )
        if self.path is not None:
            if self._handle is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._handle = self.path.open("w", newline="", encoding="utf-8")
                self._writer = csv.writer(self._handle)
                self._writer.writerow(REJECT_COLUMNS)
                self.report.rejects_path = self.path
            assert self._writer is not None
            self._writer.writerows(rejects[REJECT_COLUMNS].itertuples(index=False, name=None))

    def close(self) -> None:
        """Flush and close the rejects file, if one was opened."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
