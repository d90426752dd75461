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
