"""A minimal transactions store for API tests until warehouse.store lands: same interface
(``engine``, ``append_transactions(frame)``), rows in a real SQLite table, ignoring re-sent
txn_ids as the contract says."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Column, Engine, MetaData, String, Table, Text, create_engine, select
from sqlalchemy.dialects.sqlite import insert

_META = MetaData()
TXNS = Table("test_transactions", _META, Column("txn_id", String, primary_key=True),
             Column("row", Text))


class TableStore:
    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url)
        _META.create_all(self.engine)

    def append_transactions(self, frame: pd.DataFrame | list[dict[str, object]]) -> int:
        records = frame.to_dict("records") if isinstance(frame, pd.DataFrame) else frame
        rows = [{"txn_id": r["txn_id"], "row": pd.Series(r).to_json(date_format="iso")}
                for r in records]
        with self.engine.begin() as conn:
            done = conn.execute(insert(TXNS).on_conflict_do_nothing(), rows)
        return done.rowcount

    def txn_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(TXNS.c.txn_id).order_by(TXNS.c.txn_id)).scalars())
