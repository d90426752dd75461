"""The file loader's vectorised checks and the event API's pydantic contract refuse the same
rows, naming the same field: the same bad events, as a CSV export and as posted JSON."""

from __future__ import annotations

import csv
from pathlib import Path

from api.intake import validate_rows
from warehouse.loader import load_dataset

GOOD = {"txn_id": "T0", "ts": "2024-05-01T08:00:00+00:00", "type": "PICK", "sku": "S1",
        "qty": 2, "location": "L1", "user_id": "u1"}
BAD: list[tuple[dict[str, object], str]] = [
    ({"sku": None}, "sku"),
    ({"user_id": None}, "user_id"),
    ({"type": "TELEPORT"}, "type"),
    ({"qty": "lots"}, "qty"),
    ({"ts": "yesterday"}, "ts"),
    ({"qty": -1}, "qty"),
    ({"type": "RECEIPT", "qty": 0}, "qty"),
    ({"type": "CYCLE_COUNT", "qty": -2}, "qty"),
    ({"type": "ADJUSTMENT", "qty": 0}, "qty"),
    ({"type": "MOVE"}, "to_location"),
    ({"type": "PUTAWAY"}, "to_location"),
    ({"uom": "BOX"}, "uom"),
    ({"weight_kg": -0.5}, "weight_kg"),
    ({"sku": "S" * 129}, "sku"),
    ({"reason_code": "R" * 65}, "reason_code"),
    ({"location": "L\x01"}, "location"),
    ({"note": "n" * 4001}, "note"),
    ({"note": "bell \x07"}, "note"),
]
FIELDS = ["txn_id", "ts", "type", "sku", "qty", "uom", "location", "to_location", "user_id",
          "weight_kg", "reason_code", "note"]


def _rows() -> list[dict[str, object]]:
    rows = [dict(GOOD)]
    for i, (change, _) in enumerate(BAD, start=1):
        row = {**GOOD, **change, "txn_id": f"T{i}"}
        rows.append({k: v for k, v in row.items() if v is not None})
    rows.append({**GOOD, "txn_id": "T99", "type": "ADJUSTMENT", "qty": -3, "note": "two\nlines"})
    return rows


def test_loader_and_event_api_refuse_the_same_rows_by_field(tmp_path: Path) -> None:
    rows = _rows()
    (tmp_path / "items.csv").write_text("sku,description,case_qty\nS1,Widget,12\n")
    (tmp_path / "locations.csv").write_text("location_id,zone,type\nL1,A,PICK\n")
    with (tmp_path / "transactions.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, FIELDS)
        writer.writeheader()
        writer.writerows(rows)

    loaded = load_dataset(tmp_path)
    good, bad = validate_rows(rows)

    by_file = {r.line - 2: r.field for r in loaded.report.rejects
               if r.file.endswith("transactions.csv")}  # T99, with a quoted line break, is last
    by_api = {e.index: e.field for e in bad}
    expected = {i: field for i, (_, field) in enumerate(BAD, start=1)}
    assert by_api == expected
    assert by_file == expected
    assert sorted(loaded.dataset.transactions["txn_id"]) == sorted(t.txn_id for t in good)
    assert sorted(t.txn_id for t in good) == ["T0", "T99"]
