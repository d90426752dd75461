from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import inspect

from sim.generator import GeneratorConfig, generate
from warehouse.errors import UserError
from warehouse.loader import load_dataset
from warehouse.store import Store
from warehouse.writer import write_dataset

ITEMS = "sku,description,case_qty\nS1,Widget,12\nS2,Gadget,6\n"
LOCATIONS = "location_id,zone,type\nDOCK1,DOCK,DOCK\nL1,A,PICK\nL2,B,RESERVE\nRET,R,RETURNS\n"
LEDGER = """txn_id,ts,type,sku,qty,uom,location,to_location,user_id,expected_qty,colour
T1,2024-05-01T08:00:00Z,RECEIPT,S1,2,CS,DOCK1,,u1,2,red
T2,2024-05-01T08:10:00Z,PUTAWAY,S1,24,EA,DOCK1,L1,u1,,
T3,2024-05-01T08:20:00Z,MOVE,S1,4,EA,L1,L2,u1,,
T4,2024-05-01T08:30:00Z,PICK,S1,5,EA,L1,,u2,,
T5,2024-05-01T08:40:00Z,ADJUSTMENT,S1,-2,EA,L2,,u2,,
T6,2024-05-01T08:50:00Z,ADJUSTMENT,S1,1,EA,L1,,u2,,
T7,2024-05-01T09:00:00Z,CYCLE_COUNT,S1,14,EA,L1,,u3,16,
T8,2024-05-01T09:10:00Z,RETURN,S1,3,EA,RET,,u3,,
T9,2024-05-01T09:20:00Z,PICK,S2,oops,EA,L1,,u3,,
"""


def _folder(path: Path, ledger: str = LEDGER) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "items.csv").write_text(ITEMS)
    (path / "locations.csv").write_text(LOCATIONS)
    (path / "transactions.csv").write_text(ledger)
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    opened = Store.open(url)
    opened.upgrade()
    yield opened
    opened.close()


def test_balance_effects_of_every_transaction_type(store: Store, tmp_path: Path) -> None:
    report = store.ingest(_folder(tmp_path / "d"))
    assert report.tables["transactions"] == 8 and report.rejected == 1
    balances = store.balances().set_index(["sku", "location"])["qty"].to_dict()
    assert balances == {("S1", "DOCK1"): 0.0, ("S1", "L1"): 16.0, ("S1", "L2"): 2.0,
                        ("S1", "RET"): 3.0}
    ledger = store.balance_history("S1", "L1")
    assert list(ledger["txn_id"]) == ["T2", "T3", "T4", "T6", "T7"]
    assert list(ledger["delta"]) == [24.0, -4.0, -5.0, 1.0, 0.0]  # the count moves nothing
    assert list(ledger["balance_after"]) == [24.0, 20.0, 15.0, 16.0, 16.0]
    dock = store.balance_history("S1", "DOCK1")
    assert list(dock["delta"]) == [24.0, -24.0]  # 2 cases of 12 in, 24 eaches out


def test_incremental_ingest_continues_balances_and_skips_redeliveries(store: Store,
                                                                      tmp_path: Path) -> None:
    lines = LEDGER.splitlines()
    store.ingest(_folder(tmp_path / "first", "\n".join(lines[:5]) + "\n"))
    second = tmp_path / "second.csv"
    second.write_text("\n".join([lines[0], lines[3], lines[4], *lines[5:]]) + "\n")
    report = store.ingest(second)
    assert report.redelivered == 2 and report.tables["transactions"] == 4
    assert store.balance_history("S1", "L1")["balance_after"].tolist() == [24, 20, 15, 16, 16]
    assert store.status().transactions == 8 and store.status().ingests == 2



def test_a_redelivery_in_a_later_chunk_of_one_ingest_is_skipped(store: Store,
                                                                tmp_path: Path) -> None:
    lines = LEDGER.splitlines()
    repeat = lines[2].replace(",24,", ",99,")  # T2 again, another quantity
    folder = _folder(tmp_path / "d", "\n".join([*lines, repeat, lines[4]]) + "\n")
    report = store.ingest(folder, chunksize=3)
    assert report.redelivered == 2 and report.tables["transactions"] == 8
    assert store.balance_history("S1", "L1")["balance_after"].tolist() == [24, 20, 15, 16, 16]
    assert store.status().transactions == 8

def test_snapshot_equals_the_in_memory_load(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "gen"
    write_dataset(generate(GeneratorConfig(seed=11, days=7, skus=150)), folder)
    report = store.ingest(folder)
    expected = load_dataset(folder).dataset
    assert report.rejected == 0 and report.tables["transactions"] == len(expected.transactions)
    snap = store.snapshot()
    pd.testing.assert_frame_equal(snap.transactions, expected.transactions)
    pd.testing.assert_frame_equal(snap.items, expected.items.sort_values("sku",
                                  ignore_index=True))
    pd.testing.assert_frame_equal(snap.locations, expected.locations.sort_values(
        "location_id", ignore_index=True))
    # the stored balances are the ledger summed up
    tx = expected.transactions
    sign = tx["type"].map({"RECEIPT": 1, "RETURN": 1, "ADJUSTMENT": 1, "PICK": -1,
                           "PUTAWAY": -1, "MOVE": -1, "CYCLE_COUNT": 0})
    moved = tx[tx["to_location"].notna()]
    legs = pd.concat([
        pd.DataFrame({"sku": tx["sku"], "location": tx["location"], "d": tx["eaches"] * sign}),
        pd.DataFrame({"sku": moved["sku"], "location": moved["to_location"],
                      "d": moved["eaches"]})])
    summed = legs.groupby(["sku", "location"])["d"].sum()
    stored = store.balances().set_index(["sku", "location"])["qty"]
    pd.testing.assert_series_equal(stored.sort_index(), summed.sort_index(),
                                   check_names=False)


def test_unknown_columns_survive_the_store(store: Store, tmp_path: Path) -> None:
    store.ingest(_folder(tmp_path / "d"))
    snap = store.snapshot()
    assert snap.extras == {"transactions": ["colour"]}
    assert snap.transactions.set_index("txn_id").loc["T1", "colour"] == "red"


def test_failed_ingest_leaves_the_store_as_it_was(store: Store, tmp_path: Path) -> None:
    folder = _folder(tmp_path / "d", "txn_id,ts,type,sku,qty\nT1,2024-05-01T08:00:00Z,PICK,S1,1\n")
    with pytest.raises(UserError, match="missing required column"):
        store.ingest(folder)
    status = store.status()
    assert (status.items, status.locations, status.transactions, status.ingests) == (0, 0, 0, 0)



def test_a_load_into_an_empty_log_rebuilds_the_ledger_index(store: Store,
                                                            tmp_path: Path) -> None:
    def ledger_indexes() -> list[tuple[str, list[str | None]]]:
        return [(i["name"], i["column_names"])
                for i in inspect(store.engine).get_indexes("balance_history")]

    expected = [("ix_balance_history_site_key", ["site", "sku", "location", "id"])]
    bad = _folder(tmp_path / "bad", "txn_id,ts,type,sku,qty\nT1,2024-05-01T08:00:00Z,PICK,S1,1\n")
    with pytest.raises(UserError):
        store.ingest(bad)
    assert ledger_indexes() == expected
    store.ingest(_folder(tmp_path / "d"))
    assert ledger_indexes() == expected
    assert store.balance_history("S1", "L1")["balance_after"].tolist() == [24, 20, 15, 16, 16]

def test_append_transactions_from_the_api(store: Store, tmp_path: Path) -> None:
    store.ingest(_folder(tmp_path / "d"))
    frame = pd.DataFrame([{"txn_id": "A1", "ts": pd.Timestamp("2024-05-02T08:00:00Z"),
                           "type": "PICK", "sku": "S1", "qty": 1.0, "uom": "CS",
                           "location": "L1", "user_id": "api"},
                          {"txn_id": "T8", "ts": pd.Timestamp("2024-05-02T08:00:00Z"),
                           "type": "PICK", "sku": "S1", "qty": 1.0, "uom": "EA",
                           "location": "RET", "user_id": "api"}])
    assert store.append_transactions(frame) == 1  # T8 was already stored
    assert store.append_transactions(frame) == 0
    ledger = store.balance_history("S1", "L1")
    assert ledger["txn_id"].iloc[-1] == "A1" and ledger["balance_after"].iloc[-1] == 4.0



def test_event_times_keep_microseconds_whatever_their_offset(store: Store,
                                                             tmp_path: Path) -> None:
    store.ingest(_folder(tmp_path / "d"))
    ts = pd.Series(pd.to_datetime(["2024-05-02T10:00:00.123456789+02:00"])).dt.as_unit("ns")
    frame = pd.DataFrame({"txn_id": ["A1"], "ts": ts, "type": ["PICK"], "sku": ["S1"],
                          "qty": [1.0], "uom": ["EA"], "location": ["L1"], "user_id": ["api"]})
    assert store.append_transactions(frame) == 1
    stored = store.snapshot().transactions.set_index("txn_id").loc["A1", "ts"]
    assert stored == pd.Timestamp("2024-05-02T08:00:00.123456Z")

def test_a_store_without_schema_says_what_to_do(tmp_path: Path) -> None:
    bare = Store.open(f"sqlite:///{tmp_path / 'bare.db'}")
    with pytest.raises(UserError, match="tally db upgrade"):
        bare.status()
