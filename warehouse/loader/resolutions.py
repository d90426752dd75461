"""``resolutions.csv`` (CONTRACT.md section 6): a site's verdicts on earlier exceptions.

Rows are checked like the transaction log's: a row that breaks the contract (no txn_ids, a
verdict other than CONFIRMED / FALSE_ALARM, an unknown root cause or action, an unparsable
time) is rejected with its file, line, field and reason, and every other row loads. Notes
are kept as data: nothing in them is ever read as an instruction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from warehouse.contract import (
    RESOLUTION_COLUMNS,
    RESOLUTION_REQUIRED,
    ActionType,
    Resolution,
    RootCause,
    Verdict,
)
from warehouse.loader.checks import RowChecks
from warehouse.loader.report import LoadReport, RejectSink
from warehouse.loader.sources import SourceFile, find_table
from warehouse.loader.tables import broken_rows, require_columns

RESOLUTION_EXTRAS = ["decided_by", "ticket_id"]
"""Columns the project adds to the contract's: who decided, on which ticket."""
TEXT_LIMITS = {"note": 4000, "decided_by": 128, "ticket_id": 128}
"""Longest text kept per free-text column (a longer cell rejects the row)."""
VERDICT_ALIASES = {"CONFIRM": "CONFIRMED", "TRUE": "CONFIRMED", "FALSE": "FALSE_ALARM",
                   "FALSEALARM": "FALSE_ALARM", "REJECTED": "FALSE_ALARM"}


@dataclass
class ResolutionLoad:
    """The verdicts of one resolution log and the report of its load."""

    resolutions: list[Resolution] = field(default_factory=list)
    report: LoadReport = field(default_factory=LoadReport)


def find_resolutions(folder: Path) -> Path | None:
    """The dataset folder's ``resolutions.csv`` (or .csv.gz / .jsonl), None when absent."""
    return find_table(folder, "resolutions", required=False)


def load_resolutions(path: Path, *, rejects_path: Path | None = None,
                     chunksize: int = 50_000) -> ResolutionLoad:
    """Read and check a resolution log.

    Raises:
        UserError: the file lacks a required column (txn_ids, verdict).
    """
    out = ResolutionLoad()
    sink = RejectSink(out.report, rejects_path)
    source = SourceFile(path)
    try:
        for n, chunk in enumerate(source.chunks(chunksize)):
            if n == 0 and not path.name.endswith((".jsonl", ".jsonl.gz")):
                require_columns(list(chunk.frame.columns), RESOLUTION_REQUIRED, path)
            out.report.rows_read += len(chunk.frame) + len(chunk.broken)
            sink.add(broken_rows(chunk, str(path)))
            good, rejects = _check(chunk.frame, str(path), chunk.lines)
            sink.add(rejects)
            out.resolutions.extend(_rows(good))
    finally:
        source.close()
        sink.close()
    out.report.rows_loaded = len(out.resolutions)
    out.report.tables["resolutions"] = len(out.resolutions)
    return out


def _check(raw: pd.DataFrame, file: str, lines: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    columns = [*RESOLUTION_COLUMNS, *RESOLUTION_EXTRAS]
    frame = raw.reindex(columns=columns).astype(
        {c: "object" for c in columns if c not in raw.columns})
    checks = RowChecks(frame, file, lines)  # type: ignore[arg-type]
    checks.require(RESOLUTION_REQUIRED)
    verdict = checks.enum("verdict", [v.value for v in Verdict], "unknown_verdict",
                          VERDICT_ALIASES)
    cause = checks.enum("root_cause", [c.value for c in RootCause], "unknown_root_cause")
    action = checks.enum("action", [a.value for a in ActionType], "unknown_action")
    decided, _ = checks.times("decided_at")
    for column, longest in TEXT_LIMITS.items():
        checks.fail(frame[column].str.len() > longest, column, "too_long",
                    f"longer than {longest} characters")
    good = ~checks.bad
    out = frame[good].copy()
    out["verdict"], out["root_cause"], out["action"] = verdict[good], cause[good], action[good]
    out["decided_at"] = decided[good].map(lambda t: t.isoformat() if pd.notna(t) else None)
    return out, checks.rejects()


def _rows(frame: pd.DataFrame) -> list[Resolution]:
    def cell(value: object) -> str | None:
        return None if value is None or (isinstance(value, float) and value != value) \
            else str(value)

    return [
        Resolution(txn_ids=str(r["txn_ids"]).split(), verdict=Verdict(r["verdict"]),
                   root_cause=cell(r["root_cause"]), action=cell(r["action"]),
                   decided_at=cell(r["decided_at"]), note=cell(r["note"]),
                   decided_by=cell(r["decided_by"]), ticket_id=cell(r["ticket_id"]))
        for r in frame.to_dict("records")
    ]


def write_resolutions(resolutions: list[Resolution], path: Path) -> Path:
    """Write verdicts as a ``resolutions.csv`` the loader reads back (benchmarks, export)."""
    rows = [{**r.model_dump(mode="json"), "txn_ids": " ".join(r.txn_ids)} for r in resolutions]
    pd.DataFrame(rows, columns=[*RESOLUTION_COLUMNS, *RESOLUTION_EXTRAS]).to_csv(path,
                                                                             index=False)
    return path
