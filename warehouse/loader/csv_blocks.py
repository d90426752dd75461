"""CSV through pyarrow's reader, with each record's exact source line number.

The decompressed bytes are cut into blocks that end on a record boundary (a newline outside
quotes: an even number of ``"`` before it), each block is parsed by pyarrow (one thread, so
that each row it cannot take comes with its record number), and the line each record starts
on follows from the block's newlines: a record holding a quoted line break, or a blank line
before it, shifts the ones after it, and the numbers stay exact.

Rows with too many fields are malformed (rejected with their line); rows with too few are
padded with empty fields (as pandas reads them), so the contract checks name the field
that is missing; whitespace-only lines are skipped like blank ones.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from warehouse.errors import UserError

BLOCK_BYTES = 8 << 20
"""Decompressed bytes read per block (a block is parsed in one go)."""
_BOM = b"\xef\xbb\xbf"
_NEWLINE, _QUOTE, _RETURN = 10, 34, 13


@dataclass
class CsvPart:
    """Rows of one block as Arrow strings, with their lines and the lines that failed."""

    table: pa.Table
    lines: np.ndarray
    broken: list[tuple[int, str]]


def record_end(buf: bytes) -> int:
    """Bytes of ``buf`` up to and including its last newline outside quotes (0: none)."""
    end = buf.rfind(b"\n")
    if b'"' not in buf:
        return end + 1
    while end >= 0 and buf.count(b'"', 0, end) % 2:
        end = buf.rfind(b"\n", 0, end)
    return end + 1


def _first_record_end(buf: bytes) -> int:
    """Bytes of ``buf`` up to and including its first newline outside quotes (0: none)."""
    end = buf.find(b"\n")
    while end >= 0 and buf.count(b'"', 0, end) % 2:
        end = buf.find(b"\n", end + 1)
    return end + 1


def record_lines(block: bytes, first_line: int) -> np.ndarray:
    """The line each non-blank record of ``block`` starts on (block starts at ``first_line``).

    A record ends at a newline outside quotes; an empty record (a newline alone, CR LF too)
    is a blank line, which the parser skips.
    """
    data = np.frombuffer(block, dtype=np.uint8)
    newlines = np.flatnonzero(data == _NEWLINE)
    if b'"' in block:
        quotes = np.flatnonzero(data == _QUOTE)
        ends = np.flatnonzero(np.searchsorted(quotes, newlines) % 2 == 0)
    else:
        ends = np.arange(len(newlines))
    if len(newlines) == 0 or (len(ends) and newlines[ends[-1]] != len(data) - 1):
        # a last record without its newline (the end of the file)
        newlines = np.append(newlines, len(data))
        ends = np.append(ends, len(newlines) - 1)
    stops = newlines[ends]
    starts = np.concatenate([[0], stops[:-1] + 1])
    lines = first_line + np.concatenate([[0], ends[:-1] + 1])
    length = stops - starts
    blank = (length == 0) | ((length == 1) & (data[np.minimum(starts, len(data) - 1)] == _RETURN))
    return lines[~blank]


class _Rows:
    """pyarrow's invalid-row handler: notes too-long rows, keeps too-short ones to pad."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.broken: list[tuple[int, str]] = []
        """(record number, reason) of rows with too many fields."""
        self.short: list[tuple[int, str, int]] = []
        """(record number, text, fields) of rows with too few fields."""
        self.blank: list[int] = []
        """Record numbers of whitespace-only rows."""

    def __call__(self, row: Any) -> str:
        if not row.text.strip():
            self.blank.append(row.number)
        elif row.actual_columns < self.width:
            self.short.append((row.number, row.text, row.actual_columns))
        else:
            self.broken.append((row.number, f"malformed CSV row: expected {self.width} "
                                             f"fields, saw {row.actual_columns}"))
        return "skip"


def _parse(data: bytes, names: list[str], rows: _Rows | None) -> pa.Table:
    """``data`` (records without a header) as a table of string columns."""
    options = pa_csv.ReadOptions(column_names=names, use_threads=False,
                                 block_size=max(1 << 20, len(data) + 1))
    parse = pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=rows)
    convert = pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()),
                                    strings_can_be_null=False,
                                    quoted_strings_can_be_null=False)
    return pa_csv.read_csv(io.BytesIO(data), read_options=options, parse_options=parse,
                           convert_options=convert)


def _header(record: bytes) -> list[str]:
    """The column names of a header record."""
    table = pa_csv.read_csv(io.BytesIO(record), read_options=pa_csv.ReadOptions(
        autogenerate_column_names=True, use_threads=False))
    return [str(v) for v in table.slice(0, 1).to_pylist()[0].values()] if table.num_rows else []


def _block_part(block: bytes, first_line: int, names: list[str]) -> CsvPart:
    """Parse one block (records only) that starts on line ``first_line``."""
    lines = record_lines(block, first_line)
    rows = _Rows(len(names))
    try:
        table = _parse(block, names, rows)
    except pa.ArrowInvalid as exc:
        raise UserError(f"not readable as CSV near line {first_line}: {exc}") from None
    taken = np.ones(len(lines), dtype=bool)
    short = [n for n, _, _ in rows.short]
    for number in [n for n, _ in rows.broken] + short + rows.blank:
        taken[number - 1] = False
    broken = [(int(lines[n - 1]), reason) for n, reason in rows.broken]
    good_lines = lines[taken]
    if rows.short:
        padded = [text + "," * (len(names) - width) for _, text, width in rows.short]
        extra = _parse("\n".join(padded).encode() + b"\n", names, None)
        table = pa.concat_tables([table, extra])
        good_lines = np.concatenate([good_lines, lines[np.asarray(short) - 1]])
        order = np.argsort(good_lines, kind="stable")
        table, good_lines = table.take(pa.array(order)), good_lines[order]
    return CsvPart(table, good_lines.astype(np.int64), broken)


def csv_parts(stream: IO[bytes] | gzip.GzipFile, block_bytes: int = BLOCK_BYTES
              ) -> tuple[list[str], Iterator[CsvPart]]:
    """The header's column names and the file's rows, block by block.

    Raises:
        UserError: the file is not readable as CSV (an unterminated quote, say).
    """
    carry = stream.read(block_bytes)
    if carry.startswith(_BOM):
        carry = carry[len(_BOM):]
    first_line = 1
    while True:  # the header: the first non-blank record
        end = _first_record_end(carry)
        while end == 0:
            more = stream.read(block_bytes)
            if not more:
                end = len(carry)
                break
            carry += more
            end = _first_record_end(carry)
        head, carry = carry[:end], carry[end:]
        if head.strip() or not carry:
            break
        first_line += head.count(b"\n")
    if not head.strip():
        return [], iter(())
    names = _header(_text(head))
    first_line += head.count(b"\n")
    return names, _parts(stream, carry, first_line, names, block_bytes)


def _parts(stream: IO[bytes] | gzip.GzipFile, carry: bytes, first_line: int, names: list[str],
           block_bytes: int) -> Iterator[CsvPart]:
    while True:
        more = stream.read(block_bytes)
        buf = carry + more
        end = record_end(buf) if more else len(buf)
        if end == 0 and more:
            carry = buf
            continue
        block, carry = _text(buf[:end]), buf[end:]
        if block:
            yield _block_part(block, first_line, names)
        first_line += block.count(b"\n")
        if not more:
            return


def _text(data: bytes) -> bytes:
    """``data`` as valid UTF-8 (undecodable bytes replaced, as the text reader did)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace").encode("utf-8")
    return data


def trimmed(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Cells trimmed of surrounding whitespace; null where nothing is left."""
    text = pc.utf8_trim_whitespace(column)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
