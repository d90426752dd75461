from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect, text
from sqlmodel import Session

from api.auth import add_user
from api.db import SERVICE_TABLES
from warehouse.store import Store
from warehouse.store.schema import current_revision, head_revision, upgrade
from warehouse.store.tables import WAREHOUSE_TABLES

LEDGER = """txn_id,ts,type,sku,qty,location,user_id
T1,2024-05-01T08:00:00Z,RECEIPT,S1,5,DOCK1,u1
T2,2024-05-01T09:00:00Z,PICK,S1,2,DOCK1,u1
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield (f"sqlite:///{tmp_path / 'm.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))


def _dataset(folder: Path) -> Path:
    folder.mkdir()
    (folder / "items.csv").write_text("sku,description,case_qty\nS1,Widget,6\n")
    (folder / "locations.csv").write_text("location_id,zone,type\nDOCK1,DOCK,DOCK\n")
    (folder / "transactions.csv").write_text(LEDGER)
    return folder


def test_upgrade_creates_every_table_at_head(url: str) -> None:
    store = Store.open(url)
    store.upgrade()
    store.upgrade()  # a second upgrade is a no-op
    names = set(inspect(store.engine).get_table_names())
    assert {t.name for t in [*WAREHOUSE_TABLES, *SERVICE_TABLES]} <= names
    assert current_revision(store.engine) == head_revision()
    store.close()


def test_migrations_match_the_table_models(url: str) -> None:
    """A model changed without a revision shows up here: write the revision."""
    store = Store.open(url)
    store.upgrade()
    models = MetaData()
    for table in [*WAREHOUSE_TABLES, *SERVICE_TABLES]:
        table.to_metadata(models)
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), models)
    ours = [d for d in diffs if not (d[0] == "remove_table" and d[1].name == "alembic_version")]
    assert ours == []
    store.close()


def test_upgrade_keeps_rows_of_an_older_database(url: str, tmp_path: Path) -> None:
    # a database from before the service revision: warehouse schema with data, and
    # service tables made by create_all (as the API did) holding a user
    engine = create_engine(url)
    upgrade(engine, "0001_warehouse")
    SERVICE_TABLES[0].metadata.create_all(engine, tables=SERVICE_TABLES)
    with Session(engine) as session:
        add_user(session, name="ana", role="admin")
    with engine.begin() as conn:  # the rows as the code of that revision stored them
        conn.execute(text("INSERT INTO items (sku, description, case_qty) "
                          "VALUES ('S1', 'Widget', 6)"))
        conn.execute(text("INSERT INTO locations (location_id, zone, type) "
                          "VALUES ('DOCK1', 'DOCK', 'DOCK')"))
        for seq, txn_id, kind, qty in ((1, "T1", "RECEIPT", 5), (2, "T2", "PICK", 2)):
            conn.execute(text(
                "INSERT INTO transactions (seq, txn_id, ts, type, sku, qty, uom, location, "
                "user_id, eaches) VALUES (:seq, :txn_id, :ts, :kind, 'S1', :qty, 'EA', "
                "'DOCK1', 'u1', :qty)"), {"seq": seq, "txn_id": txn_id, "kind": kind,
                                         "qty": qty, "ts": f"2024-05-01 0{7 + seq}:00:00"})
            conn.execute(text(
                "INSERT INTO balance_history (id, seq, sku, location, delta, balance_after) "
                "VALUES (:id, :seq, 'S1', 'DOCK1', :delta, :after)"),
                {"id": seq * 2, "seq": seq, "delta": qty if seq == 1 else -qty,
                 "after": 5 if seq == 1 else 3})
        conn.execute(text("INSERT INTO balances (sku, location, qty, last_seq) "
                          "VALUES ('S1', 'DOCK1', 3, 2)"))
    engine.dispose()
    store = Store.open(url)

    store.upgrade()
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM app_user")).scalars().all() == ["ana"]
    assert store.status().transactions == 2
    assert store.sites() == ["default"]
    assert store.balances()[["sku", "location", "qty"]].to_dict("records") == [
        {"sku": "S1", "location": "DOCK1", "qty": 3.0}]
    # the old rows go on as the default site's: balances carry on, item versions number on
    folder = _dataset(tmp_path / "d")
    (folder / "items.csv").write_text("sku,description,case_qty\nS1,Widget,12\n")
    (folder / "transactions.csv").write_text(
        LEDGER + "T3,2024-05-01T10:00:00Z,RECEIPT,S1,4,DOCK1,u1\n")
    report = store.ingest(folder)
    assert report.redelivered == 2 + 1  # T1, T2 and the known location
    assert store.balances()["qty"].tolist() == [7.0]
    assert store.item_versions("S1")["case_qty"].tolist() == [6.0, 12.0]
    store.close()



_RACER = """
import sys
from sqlalchemy import create_engine
from warehouse.store.schema import upgrade
engine = create_engine(sys.argv[1])
engine.connect().close()  # pooled: the upgrade starts without a connect
print("ready", flush=True)
sys.stdin.readline()
upgrade(engine)
"""


@pytest.mark.postgres
def test_processes_upgrading_a_new_database_together_all_succeed(pg_url: str) -> None:
    """Workers started together on an empty PostgreSQL database migrate it once, none fails."""
    racers = [subprocess.Popen([sys.executable, "-c", _RACER, pg_url], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
              for _ in range(3)]
    for racer in racers:  # all imported and connected ...
        assert racer.stdout is not None and racer.stdout.readline() == "ready\n"
    for racer in racers:  # ... then released at once
        assert racer.stdin is not None
        racer.stdin.write("go\n")
        racer.stdin.flush()
    outputs = [racer.communicate(timeout=60)[0] for racer in racers]
    assert [racer.returncode for racer in racers] == [0] * 3, "\n".join(outputs)
    engine = create_engine(pg_url)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    assert versions == [head_revision()]
