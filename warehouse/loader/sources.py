"""Finding a table's file in a dataset folder and reading it as chunks of raw strings.

Every cell comes back as a stripped string or NaN (an empty cell, whitespace only or a JSON
null), with column names normalised (BOM, case, surrounding whitespace, inner spaces), so
the validators see one shape whatever the export looked like. Each chunk carries the line
number of each of its rows: exact for JSONL; for CSV it is the header line plus the record
number, corrected for rows the parser skipped (a CSV record with an embedded newline or a
blank line in front of it shifts it).
"""

from __future__ import annotations

import gzip
import io
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, overload

import numpy as np
import pandas as pd

from warehouse.errors import UserError

SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz")
_SKIPPED = re.compile(r"Skipping line (\d+): (.*)")
_HEADER_SPACE = re.compile(r"[\s\-]+")


@dataclass
class RawChunk:
    """Rows of one file as normalised strings, with their line numbers and unreadable lines."""

    frame: pd.DataFrame
    lines: np.ndarray
    broken: list[tuple[int, str]]
    """(line, reason) of lines that could not be parsed into a row at all."""


@overload
def find_table(folder: Path, table: str, *, required: Literal[True] = ...) -> Path: ...


@overload
def find_table(folder: Path, table: str, *, required: bool) -> Path | None: ...


def find_table(folder: Path, table: str, *, required: bool = True) -> Path | None:
    """The file holding ``table`` in ``folder`` (``table.csv``, ``.csv.gz``, ``.jsonl``...).

    Raises:
        UserError: the folder is missing, or a required table has no file.
    """
    if not folder.is_dir():
        raise UserError(f"{folder}: no such dataset folder")
    for suffix in SUFFIXES:
        path = folder / f"{table}{suffix}"
        if path.is_file():
            return path
    if required:
        raise UserError(f"{folder}: no {table}.csv (nor .csv.gz, .jsonl, .jsonl.gz) found")
    return None


def normalise_header(name: object) -> str:
    """A column name as the contract spells it: no BOM, trimmed, lower case, ``_`` for gaps."""
    text = str(name).replace("\ufeff", "").strip().lower()
    return _HEADER_SPACE.sub("_", text)


class SourceFile:
    """An open dataset file that reports how far it has been read (for progress bars)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        self._raw: IO[bytes] = path.open("rb")
        binary: IO[bytes] | gzip.GzipFile = (
            gzip.GzipFile(fileobj=self._raw) if path.name.endswith(".gz") else self._raw)
        self.text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="replace", newline="")

    @property
    def position(self) -> int:
        """Bytes of the file on disk consumed so far."""
        return self._raw.tell() if not self._raw.closed else self.size

    def close(self) -> None:
        """Close the file."""
        self.text.close()
        self._raw.close()

    def chunks(self, chunksize: int) -> Iterator[RawChunk]:
        """The file's rows, ``chunksize`` at a time."""
        if self.path.name.endswith((".jsonl", ".jsonl.gz")):
            return self._json_chunks(chunksize)
        return self._csv_chunks(chunksize)

    def _csv_chunks(self, chunksize: int) -> Iterator[RawChunk]:
        skipped: list[int] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            reader = pd.read_csv(self.text, dtype=str, keep_default_na=False, na_filter=False,
                                 chunksize=chunksize, on_bad_lines="warn", engine="c")
            try:
                for frame in reader:
                    broken = _skipped_lines(caught)
                    caught.clear()
                    skipped.extend(line for line, _ in broken)
                    natural = frame.index.to_numpy(dtype=np.int64) + 2
                    # the k-th skipped line (0-based) pushes back every record from natural
                    # line number (line - k) on
                    pushed = np.sort(np.asarray(skipped, dtype=np.int64))
                    pushed -= np.arange(len(pushed))
                    lines = natural + np.searchsorted(pushed, natural, side="right")
                    yield RawChunk(_normalise(frame), lines, broken)
            except pd.errors.EmptyDataError:
                return
            except pd.errors.ParserError as exc:
                raise UserError(f"{self.path}: not readable as CSV: {exc}") from None

    def _json_chunks(self, chunksize: int) -> Iterator[RawChunk]:
        records: list[dict[str, object]] = []
        lines: list[int] = []
        broken: list[tuple[int, str]] = []
        for number, text in enumerate(self.text, start=1):
            if not text.strip():
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                broken.append((number, f"not valid JSON: {exc.msg}"))
                continue
            if not isinstance(value, dict):
                broken.append((number, "not a JSON object"))
                continue
            records.append(value)
            lines.append(number)
            if len(records) >= chunksize:
                yield _json_chunk(records, lines, broken)
                records, lines, broken = [], [], []
        if records or broken:
            yield _json_chunk(records, lines, broken)


def _skipped_lines(caught: list[warnings.WarningMessage]) -> list[tuple[int, str]]:
    """(line, reason) for each line the CSV parser skipped, from its warnings."""
    out = []
    for warning in caught:
        for match in _SKIPPED.finditer(str(warning.message)):
            out.append((int(match.group(1)), f"malformed CSV row: {match.group(2).strip()}"))
    return out


def _json_chunk(records: list[dict[str, object]], lines: list[int],
                broken: list[tuple[int, str]]) -> RawChunk:
    frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
    for column in frame.columns:
        values = frame[column]
        text = values.map(_json_cell, na_action="ignore")
        frame[column] = text.astype("str")
    return RawChunk(_normalise(frame), np.asarray(lines, dtype=np.int64), broken)


def _json_cell(value: object) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalised column names; every cell a stripped string, NaN where empty."""
    frame.columns = [normalise_header(c) for c in frame.columns]
    frame = frame.loc[:, ~frame.columns.duplicated()]
    out = {}
    for column in frame.columns:
        values = frame[column].astype("str").str.strip()
        out[column] = values.where(values != "")
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)
