"""pyarrow's CSV reader with exact source lines, whatever the block size."""

from __future__ import annotations

import io

import numpy as np
import pytest

from warehouse.loader.csv_blocks import csv_parts

DATA = (b'\xef\xbb\xbf\na,b,c\n1,2,3\n\n4,"x\ny",6\n7,8\n9,10,11,12\n13,14,15\n  \n'
        b'16,17,18\r\n"q""x",\xff,z\n20,21,22')
# line:     1 blank, 2 header, 3, 4 blank, 5-6 quoted break, 7 short, 8 long, 9, 10 spaces,
#           11 CRLF, 12 escaped quote and a bad byte, 13 no final newline


@pytest.mark.parametrize("block_bytes", [5, 16, 1 << 20])
def test_rows_keep_the_line_they_start_on(block_bytes: int) -> None:
    names, parts = csv_parts(io.BytesIO(DATA), block_bytes)
    got = list(parts)
    assert names == ["a", "b", "c"]
    lines = np.concatenate([p.lines for p in got]).tolist()
    rows = [r for p in got for r in p.table.to_pylist()]
    broken = [b for p in got for b in p.broken]
    assert lines == [3, 5, 7, 9, 11, 12, 13]
    assert [r["a"] for r in rows] == ["1", "4", "7", "13", "16", 'q"x', "20"]
    assert rows[1]["b"] == "x\ny" and rows[2]["c"] == "" and rows[4]["c"] == "18"
    assert rows[5]["b"] == "\ufffd"  # an undecodable byte is replaced, not fatal
    assert broken == [(8, "malformed CSV row: expected 3 fields, saw 4")]


def test_an_empty_file_has_no_header() -> None:
    names, parts = csv_parts(io.BytesIO(b""))
    assert names == [] and list(parts) == []
