"""Item-master versions: a re-ingest or an event that changes case_qty or unit_weight_kg adds a
version (with its effective time) and becomes the master's current value."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from warehouse.errors import UserError
from warehouse.store import Store

ITEMS = "sku,description,case_qty,unit_weight_kg,unit_cost\nS1,Widget,6,0.5,2\nS2,Gadget,12,,3\n"
LOCATIONS = "location_id,zone,type\nDOCK1,DOCK,DOCK\nP1,A,PICK\n"
LOG = ("txn_id,ts,type,sku,qty,uom,location,to_location,user_id\n"
       "T1,2025-03-01T08:00:00Z,RECEIPT,S1,2,CS,DOCK1,,u1\n"
       "T2,2025-03-01T09:00:00Z,PUTAWAY,S1,2,CS,DOCK1,P1,u1\n")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (f"sqlite:///{tmp_path / 'v.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    s = Store.open(url)
    s.upgrade()
    yield s
    s.close()


def _folder(path: Path, items: str, log: str = LOG) -> Path:
    path.mkdir()
    (path / "items.csv").write_text(items)
    (path / "locations.csv").write_text(LOCATIONS)
    (path / "transactions.csv").write_text(log)
    return path


def test_first_ingest_records_version_one(store: Store, tmp_path: Path) -> None:
    store.ingest(_folder(tmp_path / "a", ITEMS))
    v = store.item_versions()
    assert v[["sku", "version", "case_qty"]].values.tolist() == [["S1", 1, 6.0], ["S2", 1, 12.0]]
    assert v["effective_at"].isna().all()
    assert v.loc[v["sku"] == "S1", "unit_weight_kg"].item() == 0.5
    assert pd.isna(v.loc[v["sku"] == "S2", "unit_weight_kg"].item())


def test_reingest_with_a_new_pack_adds_a_version(store: Store, tmp_path: Path) -> None:
    store.ingest(_folder(tmp_path / "a", ITEMS))
    changed = ("sku,description,case_qty,unit_weight_kg,unit_cost,effective_from\n"
               "S1,Widget,8,0.5,2,2025-03-02T06:00:00+00:00\nS2,Gadget,12,,3,\n")
    later = ("txn_id,ts,type,sku,qty,uom,location,to_location,user_id\n"
             "T3,2025-03-02T08:00:00Z,RECEIPT,S1,1,CS,DOCK1,,u1\n")
    report = store.ingest(_folder(tmp_path / "b", changed, later))
    v = store.item_versions("S1")
    assert v["version"].tolist() == [1, 2] and v["case_qty"].tolist() == [6.0, 8.0]
    assert v["effective_at"].iloc[1] == pd.Timestamp("2025-03-02T06:00:00Z")
    assert v["source"].iloc[1].startswith("ingest 2:")
    assert len(store.item_versions("S2")) == 1  # unchanged: no version
    assert report.tables["item_versions"] == 1 and report.redelivered == 2 + 1  # S2 + 2 locs
    assert store.items().set_index("sku").at["S1", "case_qty"] == 8
    # the receipt after the change converts with the new pack; the old ones keep theirs
    tx = store.snapshot().transactions.set_index("txn_id")
    assert tx.at["T1", "eaches"] == 12 and tx.at["T3", "eaches"] == 8
    # the same file again changes nothing
    store.ingest(_folder(tmp_path / "c", changed, later))
    assert len(store.item_versions("S1")) == 2


def test_an_event_adds_a_version_and_keeps_what_it_does_not_name(store: Store,
                                                                  tmp_path: Path) -> None:
    store.ingest(_folder(tmp_path / "a", ITEMS))
    n = store.record_item_versions([{"sku": "S1", "unit_weight_kg": 0.55}], source="event by ana")
    assert n == 1
    v = store.item_versions("S1")
    assert v["unit_weight_kg"].tolist() == [0.5, 0.55] and v["case_qty"].tolist() == [6.0, 6.0]
    assert v["source"].iloc[1] == "event by ana" and v["effective_at"].notna().iloc[1]
    assert store.record_item_versions([{"sku": "S1", "case_qty": 6}], source="e") == 0
    with pytest.raises(UserError, match="unknown SKU 'NOPE'"):
        store.record_item_versions([{"sku": "NOPE", "case_qty": 3}], source="e")
    with pytest.raises(UserError, match="effective_from of S1 is not a time"):
        store.record_item_versions([{"sku": "S1", "case_qty": 4, "effective_from": "soon"}],
                                   source="e")
    assert len(store.item_versions("S1")) == 2  # refused events left nothing behind
    snap = store.snapshot()
    assert snap.item_versions is not None and len(snap.item_versions) == 3


def test_item_master_events_over_the_api(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.api_fixtures import auth, make_users, open_store
    from warehouse.settings import get_settings

    s = open_store(tmp_path)
    s.ingest(_folder(tmp_path / "a", ITEMS))
    with TestClient(create_app(get_settings(), store=s)) as client:
        tokens = make_users(s.engine, ("vera", "viewer"), ("sam", "supervisor"))
        url = "/v1/items/versions"
        change = [{"sku": "S2", "case_qty": 10, "effective_from": "2025-03-05T00:00:00+00:00"}]
        assert client.post(url, json=change).status_code == 401
        assert client.post(url, json=change, headers=auth(tokens["vera"])).status_code == 403
        sam = auth(tokens["sam"])
        for bad in ([], [{"sku": "S2"}], [{"sku": "S2", "case_qty": 0}],
                    [{"sku": "S2", "case_qty": 3, "effective_from": "2025-03-05T00:00:00"}],
                    {"sku": "S2", "case_qty": 3}):
            assert client.post(url, json=bad, headers=sam).status_code == 422, bad
        unknown = client.post(url, json=[*change, {"sku": "NOPE", "case_qty": 2}], headers=sam)
        assert unknown.status_code == 422 and "NOPE" in unknown.text
        assert len(s.item_versions("S2")) == 1  # all or nothing
        ok = client.post(url, json=change, headers=sam)
        assert ok.status_code == 200 and ok.json() == {"received": 1, "versioned": 1}
    v = s.item_versions("S2")
    assert v["case_qty"].tolist() == [12.0, 10.0]
    assert v["effective_at"].iloc[1] == pd.Timestamp("2025-03-05T00:00:00Z")
    assert v["source"].iloc[1] == "item-master event from sam"
