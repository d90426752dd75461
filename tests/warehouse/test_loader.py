from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.generator import GeneratorConfig, generate
from warehouse.errors import UserError
from warehouse.loader import load_dataset
from warehouse.writer import write_dataset

ITEMS = """sku,description,case_qty,unit_weight_kg,unit_cost
S1,Widget,12,0.5,2.0
S2,Gadget,6,,
S1,Widget again,24,0.5,2.0
S3,Bad case,zero,,
"""
LOCATIONS = """location_id,zone,type,level
L1,A,PICK,0
L2,A,RESERVE,2
DOCK1,DOCK,DOCK,
L9,A,SHELF,1
"""
HEADER = "txn_id,ts,type,sku,qty,uom,location,to_location,user_id,colour"
GOOD = [
    "T1,2024-05-01T08:00:00+00:00,RECEIPT,S1,2,CS,DOCK1,,u1,red",
    "T2,2024-05-01T09:00:00Z,PUTAWAY,S1,24,EA,DOCK1,L1,u1,",
    "T3,2024-05-01T10:00:00+02:00,PICK,S1,1 000,,L1,,u2,",
    "T4,2024-05-01T10:30:00,ADJUSTMENT,S1,-3,EA,L1,,u2,",
]
BAD = [
    ("T5,2024-05-01T11:00:00+00:00,PICK,,1,EA,L1,,u1,", "sku", "missing"),
    ("T6,2024-05-01T11:00:00+00:00,TELEPORT,S1,1,EA,L1,,u1,", "type", "unknown_type"),
    ("T7,2024-05-01T11:00:00+00:00,PICK,S1,lots,EA,L1,,u1,", "qty", "bad_number"),
    ("T8,yesterday,PICK,S1,1,EA,L1,,u1,", "ts", "bad_time"),
    ("T9,2024-05-01T11:00:00+00:00,PICK,S1,-1,EA,L1,,u1,", "qty", "out_of_range"),
    ("T10,2024-05-01T11:00:00+00:00,MOVE,S1,1,EA,L1,,u1,", "to_location", "missing"),
    ("T11,2024-05-01T11:00:00+00:00,PUTAWAY,S1,1,EA,L1,,u1,", "to_location", "missing"),
    ("T12,2024-05-01T11:00:00+00:00,PICK,S1,1,BOX,L1,,u1,", "uom", "unknown_uom"),
    ("T13,2024-05-01T11:00:00+00:00,CYCLE_COUNT,S1,-2,EA,L1,,u1,", "qty", "out_of_range"),
]


def _folder(tmp_path: Path, rows: list[str], *, items: str = ITEMS) -> Path:
    (tmp_path / "items.csv").write_text(items)
    (tmp_path / "locations.csv").write_text(LOCATIONS)
    (tmp_path / "transactions.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    return tmp_path


@pytest.fixture(scope="module")
def generated() -> object:
    return generate(GeneratorConfig(seed=5, days=7, skus=150))


@pytest.mark.parametrize("gz", [False, True])
def test_generator_output_round_trips_exactly(generated: object, tmp_path: Path,
                                              gz: bool) -> None:
    write_dataset(generated, tmp_path, gzip=gz)
    result = load_dataset(tmp_path)
    loaded = result.dataset
    assert result.report.rejected == 0 and result.report.redelivered == 0
    pd.testing.assert_frame_equal(loaded.transactions, generated.transactions)
    pd.testing.assert_frame_equal(loaded.items, generated.items)
    # the contract keeps level float64 so a missing level can be NaN
    pd.testing.assert_frame_equal(loaded.locations,
                                  generated.locations.astype({"level": "float64"}))
    pd.testing.assert_frame_equal(loaded.labels, generated.labels)
    assert loaded.extras == {"labels": ["variant"]} or loaded.extras == {}


def test_every_valid_row_loads_and_each_bad_row_is_named(tmp_path: Path) -> None:
    rejects_file = tmp_path / "out" / "rejects.csv"
    folder = _folder(tmp_path, [GOOD[0], *(row for row, _, _ in BAD), *GOOD[1:]])
    result = load_dataset(folder, rejects_path=rejects_file)
    report, tx = result.report, result.dataset.transactions
    assert list(tx["txn_id"]) == ["T1", "T3", "T2", "T4"]  # by ts; T3 10:00+02:00 ties T1
    got = {(r.line, r.field, r.code) for r in report.rejects if r.file.endswith("transactions.csv")}
    assert got == {(3 + i, field, code) for i, (_, field, code) in enumerate(BAD)}
    on_disk = pd.read_csv(rejects_file)
    assert list(on_disk.columns) == ["file", "line", "field", "code", "reason"]
    assert len(on_disk) == report.rejected == len(BAD) + 3  # + dup S1, bad S3, bad L9 type
    assert report.rows_read == report.rows_loaded + report.rejected + report.redelivered
    assert report.tables == {"items": 2, "locations": 3, "transactions": 4}
    on_disk = on_disk[on_disk["file"].str.endswith("transactions.csv")].set_index("line")
    assert "'TELEPORT'" in on_disk.loc[4, "reason"] and "'lots'" in on_disk.loc[5, "reason"]


def test_values_are_typed_repaired_and_converted(tmp_path: Path) -> None:
    result = load_dataset(_folder(tmp_path, GOOD))
    tx = result.dataset.transactions.set_index("txn_id")
    assert str(tx["ts"].dtype) == "datetime64[us, UTC]"
    assert tx.loc["T3", "ts"] == pd.Timestamp("2024-05-01T08:00:00Z")
    assert tx.loc["T3", "qty"] == 1000.0 and tx.loc["T3", "uom"] == "EA"
    assert tx.loc["T1", "eaches"] == 24.0  # 2 cases of 12
    assert tx.loc["T4", "eaches"] == -3.0
    assert result.report.warnings["naive_ts"] == 1  # T4 has no offset: taken as UTC
    assert tx.loc["T4", "ts"] == pd.Timestamp("2024-05-01T10:30:00Z")
    items = result.dataset.items.set_index("sku")
    assert items.loc["S1", "description"] == "Widget"  # first of the duplicate keys wins
    assert np.isnan(items.loc["S2", "unit_weight_kg"])


def test_unknown_columns_are_kept(tmp_path: Path) -> None:
    result = load_dataset(_folder(tmp_path, GOOD))
    assert result.dataset.extras == {"transactions": ["colour"]}
    tx = result.dataset.transactions.set_index("txn_id")
    assert tx.loc["T1", "colour"] == "red" and pd.isna(tx.loc["T2", "colour"])


def test_redelivered_ids_are_ignored_and_counted(tmp_path: Path) -> None:
    again = GOOD[0].replace(",2,CS,", ",5,CS,")
    result = load_dataset(_folder(tmp_path, [*GOOD, again, GOOD[1]]))
    assert result.report.redelivered == 2
    tx = result.dataset.transactions.set_index("txn_id")
    assert len(tx) == 4 and tx.loc["T1", "qty"] == 2.0


def test_messy_export_headers_bom_and_spacing(tmp_path: Path) -> None:
    folder = _folder(tmp_path, GOOD)
    header = "\ufeff TXN_ID ,Ts,TYPE,Sku, QTY ,Uom,Location,To Location,User-ID,Colour"
    lines = (folder / "transactions.csv").read_text().splitlines()
    rows = [row.replace(",", " , ").replace("T4 ", " T4") for row in lines[1:]]
    (folder / "transactions.csv").write_text("\n".join([header, *rows]) + "\n",
                                             encoding="utf-8")
    result = load_dataset(folder)
    assert result.report.rejected == 3  # only the master-data rejects
    tx = result.dataset.transactions.set_index("txn_id")
    assert sorted(tx.index) == ["T1", "T2", "T3", "T4"]
    assert tx.loc["T2", "to_location"] == "L1" and tx.loc["T4", "qty"] == -3.0


def test_unknown_sku_loads_with_warning_and_no_eaches_in_cases(tmp_path: Path) -> None:
    rows = [*GOOD, "T20,2024-05-02T08:00:00Z,RECEIPT,NOPE,2,CS,DOCK1,,u1,",
            "T21,2024-05-02T08:00:00Z,RECEIPT,NOPE,3,EA,NOWHERE,,u1,"]
    result = load_dataset(_folder(tmp_path, rows))
    tx = result.dataset.transactions.set_index("txn_id")
    assert np.isnan(tx.loc["T20", "eaches"]) and tx.loc["T21", "eaches"] == 3.0
    assert result.report.warnings["unknown_sku"] == 2
    assert result.report.warnings["unknown_sku_in_cases"] == 1
    assert result.report.warnings["unknown_location"] == 1


@pytest.mark.parametrize("name", ["transactions.jsonl", "transactions.jsonl.gz"])
def test_jsonl_with_a_broken_line(tmp_path: Path, name: str) -> None:
    folder = _folder(tmp_path, [])
    (folder / "transactions.csv").unlink()
    csv_rows = pd.read_csv(pd.io.common.StringIO("\n".join([HEADER, *GOOD])), dtype=str)
    lines = [json.dumps({k: v for k, v in row.items() if isinstance(v, str)})
             for row in csv_rows.to_dict("records")]
    lines.insert(1, "{not json")
    lines.insert(2, json.dumps({"txn_id": "T30", "ts": "2024-05-01T08:00:00Z", "type": "PICK",
                                "sku": "S1", "qty": 2.5, "location": "L1"}))  # no user_id
    text = "\n".join(lines) + "\n"
    path = folder / name
    path.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())
    result = load_dataset(folder)
    tx = result.dataset.transactions.set_index("txn_id")
    assert sorted(tx.index) == ["T1", "T2", "T3", "T4"]
    assert tx.loc["T1", "colour"] == "red"
    rejects = {(r.line, r.field, r.code) for r in result.report.rejects
               if Path(r.file).name == name}
    assert rejects == {(2, "row", "malformed"), (3, "user_id", "missing")}


def test_malformed_csv_rows_are_rejected_with_their_line(tmp_path: Path) -> None:
    rows = [GOOD[0], "T40,too,many,fields,1,EA,L1,,u1,x,y,z", GOOD[1]]
    result = load_dataset(_folder(tmp_path, rows))
    bad = [r for r in result.report.rejects if r.file.endswith("transactions.csv")]
    assert [(r.line, r.code) for r in bad] == [(3, "malformed")]
    assert list(result.dataset.transactions["txn_id"]) == ["T1", "T2"]


def test_missing_file_or_required_column_is_a_user_error(tmp_path: Path) -> None:
    folder = _folder(tmp_path, GOOD)
    (folder / "items.csv").write_text("sku,description\nS1,Widget\n")
    with pytest.raises(UserError, match=r"items.csv: missing required column\(s\) case_qty"):
        load_dataset(folder)
    (folder / "items.csv").unlink()
    with pytest.raises(UserError, match="no items.csv"):
        load_dataset(folder)
    with pytest.raises(UserError, match="no such dataset folder"):
        load_dataset(tmp_path / "nope")
