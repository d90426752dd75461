"""Finding a table's file in a dataset folder and reading it as chunks of raw strings.

Every cell comes back as a stripped string or NaN (an empty cell, whitespace only or a JSON
null), with column names normalised (BOM, case, surrounding whitespace, inner spaces), so
the validators see one shape whatever the export looked like. Each chunk carries the line
number of each of its rows, exact for JSONL and CSV alike (the line a CSV record starts on,
counting quoted line breaks and blank lines before it: :mod:`warehouse.loader.csv_blocks`).
"""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal, overload

import numpy as np
import pandas as pd
import pyarrow as pa

from warehouse.errors import UserError
from warehouse.loader.csv_blocks import csv_parts, trimmed

SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz")
_HEADER_SPACE = re.compile(r"[\s\-]+")
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)
"""The dtype of every raw cell: pandas' default string type."""


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
        self._binary: IO[bytes] | gzip.GzipFile = (
            gzip.GzipFile(fileobj=self._raw) if path.name.endswith(".gz") else self._raw)

    @property
    def position(self) -> int:
        """Bytes of the file on disk consumed so far."""
        return self._raw.tell() if not self._raw.closed else self.size

    def close(self) -> None:
        """Close the file."""
        self._binary.close()
        self._raw.close()

    def chunks(self, chunksize: int) -> Iterator[RawChunk]:
        """The file's rows, ``chunksize`` at a time."""
        if self.path.name.endswith((".jsonl", ".jsonl.gz")):
            return self._json_chunks(chunksize)
        return self._csv_chunks(chunksize)

    def _csv_chunks(self, chunksize: int) -> Iterator[RawChunk]:
        """Rows by pyarrow's reader, block by block, in chunks of ``chunksize`` rows."""
        try:
            yield from self._arrow_chunks(chunksize)
        except UserError as exc:
            raise UserError(f"{self.path}: {exc}") from None

    def _arrow_chunks(self, chunksize: int) -> Iterator[RawChunk]:
        names, parts = csv_parts(self._binary)
        if not names:
            return
        tables: list[pa.Table] = []
        lines: list[np.ndarray] = []
        broken: list[tuple[int, str]] = []
        rows, emitted = 0, False
        for part in parts:
            tables.append(part.table)
            lines.append(part.lines)
            broken.extend(part.broken)
            rows += part.table.num_rows
            while rows >= chunksize:
                table, numbers = pa.concat_tables(tables), np.concatenate(lines)
                yield RawChunk(_arrow_frame(table.slice(0, chunksize)), numbers[:chunksize],
                               broken)
                tables, lines, broken = [table.slice(chunksize)], [numbers[chunksize:]], []
                rows -= chunksize
                emitted = True
        if rows or broken or not emitted:
            table = pa.concat_tables(tables) if tables else pa.table(
                {name: pa.array([], pa.string()) for name in dict.fromkeys(names)})
            yield RawChunk(_arrow_frame(table), np.concatenate(lines) if lines else
                           np.empty(0, dtype=np.int64), broken)

    def _json_chunks(self, chunksize: int) -> Iterator[RawChunk]:
        records: list[dict[str, object]] = []
        lines: list[int] = []
        broken: list[tuple[int, str]] = []
        lines_of = io.TextIOWrapper(self._binary, encoding="utf-8-sig", errors="replace",
                                    newline="")
        for number, text in enumerate(lines_of, start=1):
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


def _arrow_frame(table: pa.Table) -> pd.DataFrame:
    """Normalised column names (the first of a repeated one kept); cells as :func:`_normalise`."""
    columns: dict[str, pa.ChunkedArray] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        columns.setdefault(normalise_header(name), trimmed(column))
    return pa.table(columns).to_pandas(types_mapper={pa.string(): _TEXT}.get)


def _normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Normalised column names; every cell a stripped string, NaN where empty."""
    frame.columns = [normalise_header(c) for c in frame.columns]
    frame = frame.loc[:, ~frame.columns.duplicated()]
    out = {}
    for column in frame.columns:
        values = frame[column].astype("str").str.strip()
        out[column] = values.where(values != "")
    return pd.DataFrame(out, index=frame.index).reset_index(drop=True)
