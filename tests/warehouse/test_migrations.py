from __future__ import annotations

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
    engine.dispose()
    store = Store.open(url)
    store.ingest(_dataset(tmp_path / "d"))
    before = store.balances()

    store.upgrade()
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM app_user")).scalars().all() == ["ana"]
    assert store.status().transactions == 2
    assert store.balances().equals(before)
    store.close()
