"""The master_data_history tool: its envelope, the master's versions against the receipts by
pack, and a UOM ticket on a site whose supplier changed the pack citing when they parted."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.batch import score_and_triage
from agents.reasoners.toolbox import tool_schemas
from sim.generator import GeneratorConfig, generate
from tools.master_data_history import master_data_history
from tools.registry import TOOLS, call_tool
from tools.view import WarehouseView
from warehouse.contract import RootCause
from warehouse.settings import get_settings
from warehouse.store import Store
from warehouse.writer import write_dataset

ITEMS = "sku,description,case_qty,unit_weight_kg,unit_cost\nW1,Widget box,12,0.5,2\n"
LOCATIONS = "location_id,zone,type\nDOCK1,DOCK,DOCK\nP1,A,PICK\n"
LOG = """txn_id,ts,type,sku,qty,uom,location,to_location,user_id,weight_kg,expected_qty
T1,2025-03-01T08:00:00Z,RECEIPT,W1,2,CS,DOCK1,,u1,12.1,2
T2,2025-03-01T08:30:00Z,PUTAWAY,W1,2,CS,DOCK1,P1,u1,,
T3,2025-03-05T08:00:00Z,RECEIPT,W1,2,CS,DOCK1,,u2,10.05,2
T4,2025-03-05T08:30:00Z,PUTAWAY,W1,2,CS,DOCK1,P1,u2,,
T5,2025-03-06T08:00:00Z,RECEIPT,W1,3,CS,DOCK1,,u3,14.9,3
T6,2025-03-06T08:30:00Z,PUTAWAY,W1,3,CS,DOCK1,P1,u3,,
T7,2025-03-06T12:00:00Z,CYCLE_COUNT,W1,76,EA,P1,,u4,,84
T8,2025-03-06T13:00:00Z,PICK,W1,4,EA,P1,,u5,2.01,
"""
LATER = """txn_id,ts,type,sku,qty,uom,location,to_location,user_id,weight_kg,expected_qty
T9,2025-03-08T08:00:00Z,RECEIPT,W1,2,CS,DOCK1,,u1,10.0,2
"""


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(f"sqlite:///{tmp_path / 'h.db'}")
    s.upgrade()
    folder = tmp_path / "ds"
    folder.mkdir()
    for name, text in (("items", ITEMS), ("locations", LOCATIONS), ("transactions", LOG)):
        (folder / f"{name}.csv").write_text(text)
    s.ingest(folder)
    return s


def test_envelope_ok_no_data_error(store: Store) -> None:
    view = WarehouseView(store.snapshot())
    assert "master_data_history" in TOOLS
    assert any(t["function"]["name"] == "master_data_history" for t in tool_schemas())
    ok = call_tool(view, "master_data_history", {"sku": "W1"})
    assert ok.status == "ok" and ok.data["sku"] == "W1" and ok.data["versions"]
    assert call_tool(view, "master_data_history", {"sku": "NOPE"}).status == "no_data"
    bad = call_tool(view, "master_data_history", {})
    assert bad.status == "error" and "sku" in bad.data


def test_versions_beside_receipts_by_pack(store: Store, tmp_path: Path) -> None:
    store.record_item_versions([{"sku": "W1", "case_qty": 10,
                                 "effective_from": "2025-03-07T00:00:00Z"}],
                               source="master corrected by ana")
    store.ingest(_log(tmp_path / "later", LATER))
    history = master_data_history(WarehouseView(store.snapshot()), "W1")
    assert history is not None
    assert [(v.version, v.case_qty, v.effective_at) for v in history.versions] == [
        (1, 12.0, None), (2, 10.0, "2025-03-07T00:00:00Z")]
    by_id = {r.txn_id: r for r in history.receipts}
    assert by_id["T1"].fits and by_id["T1"].implied_case_qty == pytest.approx(12.1, abs=0.01)
    assert not by_id["T3"].fits and by_id["T3"].master_case_qty == 12
    assert by_id["T9"].master_case_qty == 10 and by_id["T9"].fits  # judged against v2
    assert history.parted_at == "2025-03-05T08:00:00Z"
    assert history.last_fit_at == "2025-03-01T08:00:00Z"
    assert history.parted_field == "case_qty" and history.floor_case_qty == pytest.approx(10, 0.02)
    assert [v.variance for v in history.variances] == [-8.0]
    assert history.variances_since_parted == 1
    assert history.weighing_ratio_median == pytest.approx(1.005, abs=0.01)
    facts = " | ".join(history.facts())
    assert ("v1 case qty 12, unit weight 0.5 kg from the start; v2 case qty 10, unit weight "
            "0.5 kg from 2025-03-07T00:00:00Z") in facts
    assert "parted on the pack at 2025-03-05T08:00:00Z" in facts and "says 12" in facts


def _log(folder: Path, text: str) -> Path:
    folder.mkdir()
    (folder / "transactions.csv").write_text(text)
    return folder / "transactions.csv"


def test_uom_ticket_on_a_pack_change_cites_the_master_history(tmp_path: Path) -> None:
    data = generate(GeneratorConfig(seed=51, days=21, skus=120, anomaly_counts={
        RootCause.UOM_MASTER_DATA: 3, RootCause.MIS_SCAN: 1}))
    case = data.labels[data.labels["variant"] == "pack_change"].iloc[0]
    write_dataset(data, tmp_path / "ds")
    store = Store.open(f"sqlite:///{tmp_path / 's.db'}")
    store.upgrade()
    store.ingest(tmp_path / "ds")
    tickets = score_and_triage(store.snapshot(), get_settings(), progress=False).tickets
    ids = set(case["txn_ids"].split())
    ticket = next(t for t in tickets if ids & set(t.txn_ids))
    assert ticket.root_cause == RootCause.UOM_MASTER_DATA and ticket.sku == case["sku"]
    cited = [e.fact for e in ticket.evidence if e.source == "master_data_history"]
    assert any(f.startswith(f"Item master history of {case['sku']}: v1 case qty") for f in cited)
    parted = next(f for f in cited if "Master and floor parted on the pack at" in f)
    assert "last receipt fitting the master" in parted and "count variances since" in parted
