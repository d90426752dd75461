"""The reference WMS can start with the items and balances of Tally's store."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from sim.generator import GeneratorConfig, generate
from sim.wms.app import create_sim_app
from sim.wms.seed import seed_from_store
from warehouse.store import Store
from warehouse.writer import write_dataset


def test_seeded_wms_knows_the_store_items_and_stock(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    write_dataset(generate(GeneratorConfig(seed=5, days=7, skus=80)), folder)
    store = Store.open(f"sqlite:///{tmp_path / 'tally.db'}")
    store.upgrade()
    store.ingest(folder)
    app = create_sim_app(f"sqlite:///{tmp_path / 'wms.db'}")

    n_items, n_balances = seed_from_store(app.state.engine, store)
    items, balances = store.items(), store.balances()
    assert (n_items, n_balances) == (len(items), len(balances)) and n_items == 80

    sim = TestClient(app)
    first = items.iloc[0]
    got = sim.get(f"/v1/items/{first['sku']}").json()
    assert got["case_qty"] == first["case_qty"]
    row = balances.iloc[len(balances) // 2]
    stock = sim.get("/v1/inventory", params={"sku": row["sku"], "location": row["location"]})
    assert stock.json()[0]["qty"] == row["qty"]


def test_restart_from_store_keeps_applied_adjustments(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    write_dataset(generate(GeneratorConfig(seed=5, days=7, skus=80)), folder)
    store = Store.open(f"sqlite:///{tmp_path / 'tally.db'}")
    store.upgrade()
    store.ingest(folder)
    db = f"sqlite:///{tmp_path / 'wms.db'}"
    first = create_sim_app(db)
    seed_from_store(first.state.engine, store)
    balances = store.balances()
    stocked = balances[balances["qty"] > 0]
    a = stocked.iloc[3]
    b = stocked[stocked["sku"] != a["sku"]].iloc[0]
    sim = TestClient(first)
    adjust = {"type": "ADJUST_INVENTORY", "params": {
        "sku": a["sku"], "location": a["location"], "qty_delta": -4,
        "reason_code": "COUNT_CORRECTION"}}
    reslot = {"type": "RESLOT", "params": {"sku": b["sku"], "from_location": b["location"],
                                           "to_location": "NEW-SLOT-1"}}
    recount = {"type": "RECOUNT", "params": {"locations": [a["location"]]}}
    for key, action in (("key-adjust-1", adjust), ("key-reslot-1", reslot),
                        ("key-recount-1", recount)):
        sim.post("/v1/actions", json=action, headers={"Idempotency-Key": key}).raise_for_status()

    def state(app: object) -> tuple[float, float, float, int, int]:
        c = TestClient(app)
        qty = c.get("/v1/inventory", params={"sku": a["sku"], "location": a["location"]}
                    ).json()[0]["qty"]
        moved = c.get("/v1/inventory", params={"sku": b["sku"], "location": "NEW-SLOT-1"}
                      ).json()[0]["qty"]
        left = c.get("/v1/inventory", params={"sku": b["sku"], "location": b["location"]}
                     ).json()[0]["qty"]
        return qty, moved, left, len(c.get("/v1/actions").json()), len(
            c.get("/v1/work-orders").json())

    before = state(first)
    assert before[:3] == (a["qty"] - 4, b["qty"], 0.0)
    restarted = create_sim_app(db)  # `tally wms-sim --from-store` again
    seed_from_store(restarted.state.engine, store)
    assert state(restarted) == before
    again = TestClient(restarted).post("/v1/actions", json=adjust,
                                       headers={"Idempotency-Key": "key-adjust-1"})
    assert again.json()["status"] == "ALREADY_APPLIED" and state(restarted) == before
