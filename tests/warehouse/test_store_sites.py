"""Several sites in one database: the same SKUs, locations and txn_ids kept apart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from warehouse.contract import Resolution
from warehouse.errors import UserError
from warehouse.store import Store
from warehouse.store.verdicts import add_resolutions, stored_resolutions, undo_rule, undone_rules

ITEMS = "sku,description,case_qty\nS1,Widget,12\n"
LOCATIONS = "location_id,zone,type\nDOCK1,DOCK,DOCK\nL1,A,PICK\n"


def _folder(path: Path, receipt_cases: int, case_qty: int = 12) -> Path:
    path.mkdir(parents=True)
    (path / "items.csv").write_text(ITEMS.replace("12", str(case_qty)))
    (path / "locations.csv").write_text(LOCATIONS)
    (path / "transactions.csv").write_text(
        "txn_id,ts,type,sku,qty,uom,location,to_location,user_id\n"
        f"T1,2024-05-01T08:00:00Z,RECEIPT,S1,{receipt_cases},CS,DOCK1,,u1\n"
        "T2,2024-05-01T08:10:00Z,PUTAWAY,S1,6,EA,DOCK1,L1,u1\n")
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    opened = Store.open(url)
    opened.upgrade()
    yield opened
    opened.close()


def _balances(store: Store) -> dict[tuple[str, str], float]:
    return store.balances().set_index(["sku", "location"])["qty"].to_dict()


def test_two_sites_with_the_same_keys_stay_apart(store: Store, tmp_path: Path) -> None:
    north = store.for_site("north")
    assert store.ingest(_folder(tmp_path / "d", receipt_cases=1)).rows_loaded > 0
    report = north.ingest(_folder(tmp_path / "n", receipt_cases=3, case_qty=10))
    # the same txn_ids, SKU and locations are new at the other site, not re-deliveries
    assert report.redelivered == 0 and report.tables["transactions"] == 2
    assert _balances(store) == {("S1", "DOCK1"): 6.0, ("S1", "L1"): 6.0}
    assert _balances(north) == {("S1", "DOCK1"): 24.0, ("S1", "L1"): 6.0}
    assert north.items()["case_qty"].tolist() == [10.0]
    assert store.items()["case_qty"].tolist() == [12.0]
    assert list(north.balance_history("S1", "DOCK1")["balance_after"]) == [30.0, 24.0]
    assert store.snapshot().transactions["eaches"].tolist() == [12.0, 6.0]
    assert north.snapshot().transactions["eaches"].tolist() == [30.0, 6.0]
    assert north.status().transactions == 2 and north.status().ingests == 1
    assert store.sites() == ["default", "north"]


def test_re_delivery_is_per_site_on_both_append_paths(store: Store, tmp_path: Path) -> None:
    north = store.for_site("north")
    store.ingest(_folder(tmp_path / "d", receipt_cases=1))
    north.ingest(_folder(tmp_path / "n", receipt_cases=1))
    event = {"txn_id": "T3", "ts": datetime(2024, 5, 1, 9, tzinfo=UTC), "type": "PICK",
             "sku": "S1", "qty": 2, "uom": "EA", "location": "L1", "user_id": "u2"}
    assert north.append_transactions([event]) == 1
    assert north.append_transactions([event]) == 0  # re-delivered at north
    assert store.append_transactions([event]) == 1  # new at the default site
    assert north.ingest(_folder(tmp_path / "n2", receipt_cases=1)).redelivered >= 2
    assert _balances(north)[("S1", "L1")] == 4.0
    assert _balances(store)[("S1", "L1")] == 4.0
    assert north.snapshot().transactions["txn_id"].tolist() == ["T1", "T2", "T3"]


def test_item_master_versions_are_per_site(store: Store, tmp_path: Path) -> None:
    north = store.for_site("north")
    store.ingest(_folder(tmp_path / "d", receipt_cases=1))
    north.ingest(_folder(tmp_path / "n", receipt_cases=1))
    assert north.record_item_versions([{"sku": "S1", "case_qty": 24}], source="test") == 1
    assert north.item_versions("S1")["case_qty"].tolist() == [12.0, 24.0]
    assert store.item_versions("S1")["case_qty"].tolist() == [12.0]
    with pytest.raises(UserError, match="unknown SKU"):
        store.for_site("south").record_item_versions([{"sku": "S1", "case_qty": 2}],
                                                     source="test")


def test_verdicts_and_undone_rules_are_per_site(store: Store) -> None:
    verdict = Resolution(txn_ids=["T1"], verdict="FALSE_ALARM")
    add_resolutions(store.engine, [verdict], source="import", site="north")
    assert [r.txn_ids for r in stored_resolutions(store.engine, site="north")] == [["T1"]]
    assert stored_resolutions(store.engine) == []
    assert undo_rule(store.engine, rule_id="R1", pattern="p", by="ana", site="north")
    assert undo_rule(store.engine, rule_id="R1", pattern="p", by="ana")  # another site's
    assert set(undone_rules(store.engine, site="north")) == {"R1"}
    assert undone_rules(store.engine, site="south") == {}


@pytest.mark.parametrize("name", ["", "a b", "../x", "-lead", "x" * 65])
def test_a_bad_site_name_is_refused(store: Store, name: str) -> None:
    with pytest.raises(UserError, match="bad site name"):
        store.for_site(name)
