"""Small appends (the event API's path) write the ledger a bulk ingest of the same rows writes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from warehouse.loader import load_dataset
from warehouse.store import Store

ITEMS = "sku,description,case_qty\nS1,Widget,12\nS2,Gadget,6\nX1,Widget,12\nX2,Gadget,6\n"
LOCATIONS = "location_id,zone,type\nDOCK1,DOCK,DOCK\nL1,A,PICK\nL2,B,RESERVE\nRET,R,RETURNS\n"
LEDGER = """txn_id,ts,type,sku,qty,uom,location,to_location,user_id,expected_qty,colour
T1,2024-05-01T08:00:00Z,RECEIPT,S1,2,CS,DOCK1,,u1,2,red
T2,2024-05-01T08:10:00Z,PUTAWAY,S1,24,EA,DOCK1,L1,u1,,
T3,2024-05-01T08:20:00Z,MOVE,S1,4,EA,L1,L2,u1,,
T4,2024-05-01T08:30:00Z,PICK,S1,5,EA,L1,,u2,,
T5,2024-05-01T08:40:00Z,ADJUSTMENT,S1,-2.5,EA,L2,,u2,,
T6,2024-05-01T08:50:00Z,ADJUSTMENT,S1,1,EA,L1,,u2,,
T7,2024-05-01T09:00:00Z,CYCLE_COUNT,S1,14,EA,L1,,u3,16,
T8,2024-05-01T09:10:00Z,RETURN,S1,3,EA,RET,,u3,,
T9,2024-05-01T09:15:00Z,RECEIPT,S2,1,CS,DOCK1,,u3,,
T10,2024-05-01T09:20:00Z,PUTAWAY,S2,6,EA,DOCK1,L1,u3,,
T11,2024-05-01T09:30:00Z,PICK,S1,2,EA,L1,,u1,,
T12,2024-05-01T09:40:00Z,RECEIPT,S3,1,CS,DOCK1,,u1,,
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return (f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite"
            else request.getfixturevalue("pg_url"))


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    opened = Store.open(url)
    opened.upgrade()
    yield opened
    opened.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "d"
    path.mkdir()
    (path / "items.csv").write_text(ITEMS)
    (path / "locations.csv").write_text(LOCATIONS)
    (path / "transactions.csv").write_text(LEDGER)
    return path


def _ledger(store: Store, sku: str) -> dict[str, list[tuple[str, float, float]]]:
    """Each location's ledger of ``sku``: (type, delta, balance after) per leg."""
    out = {}
    for location in ("DOCK1", "L1", "L2", "RET"):
        legs = store.balance_history(sku, location)
        if len(legs):
            out[location] = list(zip(legs["type"], legs["delta"], legs["balance_after"],
                                     strict=True))
    return out


def _balances(store: Store, sku: str) -> dict[str, float]:
    rows = store.balances()
    return dict(rows.loc[rows["sku"] == sku, ["location", "qty"]].itertuples(index=False))


def test_small_appends_write_the_ledger_a_bulk_ingest_writes(store: Store,
                                                             folder: Path) -> None:
    store.ingest(folder)  # S1, S2 (and unknown S3) in bulk
    rows = load_dataset(folder).dataset.transactions
    copy = rows.assign(txn_id="X" + rows["txn_id"],
                       sku=rows["sku"].map({"S1": "X1", "S2": "X2", "S3": "X3"}))
    assert store.append_transactions(copy.iloc[[0]]) == 1
    # a batch with an id twice, then a re-delivery alone: each id stored once
    assert store.append_transactions(copy.iloc[[1, 2, 1]]) == 2
    assert store.append_transactions(copy.iloc[[2]]) == 0
    assert store.append_transactions(copy.iloc[3:]) == len(copy) - 3
    for bulk, small in (("S1", "X1"), ("S2", "X2")):
        assert _ledger(store, small) == _ledger(store, bulk)
        assert _balances(store, small) == _balances(store, bulk)
    assert _ledger(store, "X3") == {}  # cases of an unknown SKU: no eaches, no leg
    assert store.status().transactions == 2 * len(rows)
    stored = store.snapshot().transactions.set_index("txn_id")
    assert stored.loc["XT1", "colour"] == "red" and stored.loc["XT1", "eaches"] == 24.0
    assert stored.loc["XT2", "ts"] == pd.Timestamp("2024-05-01T08:10:00Z")


def test_a_sku_another_writer_added_gets_its_case_quantity(store: Store, url: str,
                                                           folder: Path,
                                                           tmp_path: Path) -> None:
    store.ingest(folder)
    row = {"txn_id": "A1", "ts": pd.Timestamp("2024-05-02T08:00:00Z"), "type": "RECEIPT",
           "sku": "S9", "qty": 2.0, "uom": "CS", "location": "DOCK1", "user_id": "api"}
    assert store.append_transactions(pd.DataFrame([row])) == 1  # caches the item master
    other = Store.open(url)  # another process ingests the item S9
    more = tmp_path / "more"
    more.mkdir()
    (more / "items.csv").write_text("sku,description,case_qty\nS9,Box,10\n")
    (more / "transactions.csv").write_text(LEDGER.splitlines()[0] + "\n")
    other.ingest(more)
    other.close()
    later = {**row, "txn_id": "A2", "ts": datetime(2024, 5, 2, 9, tzinfo=UTC)}
    assert store.append_transactions([later]) == 1  # rows as the API passes them
    assert _balances(store, "S9") == {"DOCK1": 20.0}  # A1 had no eaches, A2 has 2 x 10
