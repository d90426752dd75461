"""Group commit: concurrent small appends share transactions; each keeps all-or-nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from warehouse.store import Store

START = datetime(2024, 5, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    url = (f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite"
           else request.getfixturevalue("pg_url"))
    opened = Store.open(url)
    opened.upgrade()
    with opened.engine.begin() as conn:
        conn.execute(text("CREATE TABLE outbox (txn_id VARCHAR(64) PRIMARY KEY)"))
    yield opened
    opened.close()


def event(i: int) -> dict[str, Any]:
    return {"txn_id": f"G{i}", "ts": START + timedelta(seconds=i), "type": "RECEIPT",
            "sku": "S1", "qty": 1.0, "uom": "EA", "location": "L1", "user_id": "u1"}


def outbox_row(txn_id: str, fail: bool = False) -> Any:
    def write(writer: Any) -> None:
        writer.raw.execute(f"INSERT INTO outbox (txn_id) VALUES ({writer.placeholder})",
                           (txn_id,))
        if fail:
            raise RuntimeError(f"outbox refused {txn_id}")
    return write


def count(store: Store, table: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def test_concurrent_appends_all_land_with_their_outbox_rows_and_a_failure_alone_is_undone(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes: list[int] = []
    commit = store._group._commit
    monkeypatch.setattr(store._group, "_commit", lambda group: (sizes.append(len(group)),
                                                               commit(group))[1])
    errors: list[BaseException] = []
    gate = threading.Barrier(12)

    def post(i: int) -> None:
        gate.wait()
        for k in range(10):
            n = i * 10 + k
            try:
                store.append_transactions([event(n)], within=outbox_row(f"G{n}", fail=n == 57))
            except RuntimeError as exc:
                errors.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [str(e) for e in errors] == ["outbox refused G57"]
    assert sum(sizes) == 120 and max(sizes) > 1  # some requests shared a commit
    assert count(store, "transactions") == count(store, "outbox") == 119
    with store.engine.connect() as conn:
        stored = set(conn.execute(text("SELECT txn_id FROM transactions")).scalars())
        seqs = list(conn.execute(text("SELECT seq FROM transactions ORDER BY seq")).scalars())
    assert "G57" not in stored and len(stored) == 119
    assert seqs == list(range(seqs[0], seqs[0] + 119))  # the failed job left no gap
    balance = store.balances().set_index(["sku", "location"])["qty"]
    assert balance[("S1", "L1")] == 119.0


def test_an_append_alone_whose_outbox_row_fails_stores_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError, match="outbox refused G1"):
        store.append_transactions([event(1)], within=outbox_row("G1", fail=True))
    store.append_transactions([event(2)], within=outbox_row("G2"))
    assert count(store, "transactions") == count(store, "outbox") == 1
    assert store.balances()["qty"].tolist() == [1.0]
