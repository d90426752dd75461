"""Bulk writes on the raw driver connection: executemany on SQLite, COPY on PostgreSQL.

An ingest runs as one transaction on one connection: either every row of it lands, or
none. Concurrent ingests (the CLI and the API) are serialised: ``BEGIN IMMEDIATE`` on
SQLite, a transaction-scoped advisory lock on PostgreSQL.
"""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from sqlalchemy import Engine

from warehouse.sites import DEFAULT_SITE

_ADVISORY_KEY = 0x7A11_1F57
_SQLITE_ROWS_PER_INSERT = 256
"""Rows per multi-row INSERT on SQLite (fewer statement steps; capped by its variable limit)."""
_UPSERT_BALANCES = (
    "INSERT INTO balances (site, sku, location, qty, last_seq) "
    "VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT (site, sku, location) "
    "DO UPDATE SET qty = excluded.qty, last_seq = excluded.last_seq"
)


def open_writer(engine: Engine, site: str = DEFAULT_SITE) -> BulkWriter:
    """A writer for ``engine``'s dialect writing ``site``'s rows, holding one connection."""
    if engine.dialect.name == "sqlite":
        return SqliteWriter(engine, site)
    if engine.dialect.name == "postgresql":
        return PostgresWriter(engine, site)
    raise NotImplementedError(f"no bulk writer for {engine.dialect.name}")


class BulkWriter:
    """What the ingest needs from the database, in the dialect's fastest form.

    Every row it inserts belongs to its ``site``; the ingest lock is one for all sites
    (posting ``seq`` numbers are global, so each site's rows keep their posting order).
    """

    placeholder = "?"
    time_suffix = ""
    """Written after UTC time text: SQLAlchemy's DateTime text on SQLite has no offset."""

    def __init__(self, engine: Engine, site: str = DEFAULT_SITE) -> None:
        self.site = site
        self._proxy = engine.raw_connection()
        self.raw: Any = self._proxy.driver_connection

    def begin(self, *, bulk: bool = True) -> None:
        """Start the ingest's transaction, holding the ingest lock.

        ``bulk``: the connection is set up for a big load (SQLite's page cache and temp
        store; a few rows of the event API skip that).
        """
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of a read query (``{p}`` in ``sql`` stands for a placeholder)."""
        cursor = self.raw.cursor()
        cursor.execute(sql.format(p=self.placeholder), tuple(params))
        rows = cursor.fetchall()
        cursor.close()
        return rows

    def existing_ids(self, ids: list[str]) -> set[str]:
        """Those of ``ids`` already in the transactions table at this site."""
        raise NotImplementedError

    def secondary_indexes(self, table: str) -> list[tuple[str, str]]:
        """(name, CREATE statement) of ``table``'s indexes outside its constraints."""
        raise NotImplementedError

    def defer_indexes(self, table: str) -> list[str]:
        """Drop ``table``'s secondary indexes; the statements that rebuild them.

        Building an index once after a big load is much faster than keeping it up to date
        row by row. Both dialects drop and rebuild inside the ingest's transaction.
        """
        indexes = self.secondary_indexes(table)
        for name, _ in indexes:
            self.raw.execute(f'DROP INDEX "{name}"')
        return [create for _, create in indexes]

    def rebuild_indexes(self, statements: list[str]) -> None:
        """Run the CREATE INDEX statements :meth:`defer_indexes` returned."""
        for statement in statements:
            self.raw.execute(statement)

    def insert(self, table: str, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows to ``table`` (columns named as in the frame) at the site."""
        self._insert(table, frame.assign(site=self.site))

    def _insert(self, table: str, frame: pd.DataFrame) -> None:
        raise NotImplementedError

    def upsert_balances(self, frame: pd.DataFrame) -> None:
        """Write (sku, location, qty, last_seq) rows, replacing the site's stored balances."""
        cursor = self.raw.cursor()
        cursor.executemany(_UPSERT_BALANCES.format(p=self.placeholder),
                           _records(frame.assign(site=self.site)[
                               ["site", "sku", "location", "qty", "last_seq"]]))
        cursor.close()

    def commit(self) -> None:
        """Commit the ingest."""
        self.raw.commit()

    def close(self, *, failed: bool) -> None:
        """Roll back if the ingest failed, then give the connection back to the pool."""
        if failed:
            self.raw.rollback()
        self._proxy.close()


class SqliteWriter(BulkWriter):
    """``executemany`` on sqlite3 in one big transaction with bulk-friendly PRAGMAs."""

    def begin(self, *, bulk: bool = True) -> None:
        """BEGIN IMMEDIATE: take the write lock now, not at the first insert."""
        self._isolation = self.raw.isolation_level
        self.raw.isolation_level = None
        for pragma in ("cache_size = -100000", "temp_store = MEMORY",
                       "synchronous = NORMAL") if bulk else ():
            self.raw.execute(f"PRAGMA {pragma}")
        self.raw.execute("BEGIN IMMEDIATE")

    def secondary_indexes(self, table: str) -> list[tuple[str, str]]:
        """Named indexes from ``sqlite_master`` (UNIQUE constraints have no SQL there)."""
        rows = self.query("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                          "AND tbl_name = {p} AND sql IS NOT NULL", [table])
        return [(name, sql) for name, sql in rows]

    def existing_ids(self, ids: list[str]) -> set[str]:
        """One query: the ids travel as a JSON array, expanded by ``json_each``."""
        rows = self.query("SELECT txn_id FROM transactions WHERE site = {p} AND txn_id IN "
                          "(SELECT value FROM json_each({p}))", [self.site, json.dumps(ids)])
        return {row[0] for row in rows}

    def _insert(self, table: str, frame: pd.DataFrame) -> None:
        """Multi-row INSERTs (many rows per statement), values bound straight from Arrow.

        Columns empty in the whole frame are left out (they are NULL either way).
        """
        data = _arrow_rows(frame, time_suffix=self.time_suffix)
        if data.num_rows == 0:
            return
        width = data.num_columns
        variables = self.raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        per_statement = max(1, min(_SQLITE_ROWS_PER_INSERT, variables // width))
        columns = [c.to_pylist() for c in data.columns]
        values = list(chain.from_iterable(zip(*columns, strict=True)))
        head = f"INSERT INTO {table} ({', '.join(data.column_names)}) VALUES "
        row = "(" + ", ".join("?" * width) + ")"
        step = per_statement * width
        full = len(values) // step * step
        if full:
            self.raw.executemany(head + ", ".join([row] * per_statement),
                                 (values[i:i + step] for i in range(0, full, step)))
        if full < len(values):
            rest = (len(values) - full) // width
            self.raw.execute(head + ", ".join([row] * rest), values[full:])

    def commit(self) -> None:
        """COMMIT and give the connection its usual transaction handling back."""
        self.raw.execute("COMMIT")
        self.raw.isolation_level = self._isolation

    def close(self, *, failed: bool) -> None:
        """Roll back an unfinished transaction, restore the connection, release it."""
        if failed and self.raw.in_transaction:
            self.raw.execute("ROLLBACK")
        if hasattr(self, "_isolation"):
            self.raw.isolation_level = self._isolation
        self._proxy.close()


class PostgresWriter(BulkWriter):
    """COPY through psycopg 3, inside one transaction under an advisory lock.

    In CSV written by Arrow, not PostgreSQL's binary format: binary COPY needs a Python
    value per cell (``write_row``), measured 17x the client CPU and 2.3x the wall time of
    the CSV COPY for the same 209k rows (``benchmarks/ingest.py`` notes in the README).
    """

    placeholder = "%s"
    time_suffix = "+00:00"

    def begin(self, *, bulk: bool = True) -> None:
        """Take the ingest lock (released when the transaction ends)."""
        self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (_ADVISORY_KEY,))

    def secondary_indexes(self, table: str) -> list[tuple[str, str]]:
        """Indexes in ``pg_indexes`` that back no constraint (primary key, unique)."""
        rows = self.query(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = {p} AND indexname NOT IN (SELECT conname FROM pg_constraint "
            "WHERE conrelid = to_regclass({p}))", [table, table])
        return [(name, sql) for name, sql in rows]

    def existing_ids(self, ids: list[str]) -> set[str]:
        """One query with the ids as an array parameter."""
        rows = self.query("SELECT txn_id FROM transactions WHERE site = {p} AND "
                          "txn_id = ANY({p})", [self.site, ids])
        return {row[0] for row in rows}

    def _insert(self, table: str, frame: pd.DataFrame) -> None:
        """COPY ... FROM STDIN in CSV written by Arrow (strings quoted, NULL unquoted empty).

        Columns empty in the whole frame are left out (they are NULL either way).
        """
        data = _arrow_rows(frame, time_suffix=self.time_suffix)
        if data.num_rows == 0:
            return
        buffer = io.BytesIO()
        pa_csv.write_csv(data, buffer, pa_csv.WriteOptions(include_header=False))
        with self.raw.cursor() as cursor, cursor.copy(
            f"COPY {table} ({', '.join(data.column_names)}) FROM STDIN WITH (FORMAT csv)"
        ) as copy:
            copy.write(buffer.getbuffer())


def _arrow_rows(frame: pd.DataFrame, *, time_suffix: str) -> pa.Table:
    """``frame`` as an Arrow table ready to write, columns empty throughout left out.

    Missing values are null; times (naive ones taken as UTC, digits below a microsecond
    dropped) become UTC text ``YYYY-MM-DD HH:MM:SS.ffffff`` followed by ``time_suffix``
    (SQLAlchemy's DateTime text on SQLite; PostgreSQL reads it with the offset).
    """
    data = pa.Table.from_pandas(frame, preserve_index=False)
    keep = [i for i, column in enumerate(data.columns)
            if column.null_count < len(column) or data.num_rows == 0]
    data = data.select(keep)
    for i, field in enumerate(data.schema):
        if pa.types.is_timestamp(field.type):
            utc = pc.cast(data.column(i), pa.timestamp("us", tz="UTC"), safe=False)
            text = utc.cast(pa.timestamp("us")).cast(pa.string())
            if time_suffix:
                text = pc.binary_join_element_wise(text, time_suffix, "")
            data = data.set_column(i, field.name, text)
    return data


def _records(frame: pd.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Rows as tuples of plain Python values, None for missing."""
    columns = [pa.array(frame[c], from_pandas=True).to_pylist() for c in frame.columns]
    return zip(*columns, strict=True)
