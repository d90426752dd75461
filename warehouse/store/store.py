"""``Store``: the warehouse database (SQLite file by default, PostgreSQL by URL)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pandas as pd
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url

import warehouse.store.read as read
import warehouse.store.schema as schema
from warehouse.contract import TRANSACTION_COLUMNS
from warehouse.dataset import Dataset
from warehouse.errors import UserError
from warehouse.loader import CHUNK_ROWS, LoadReport
from warehouse.settings import get_settings
from warehouse.sites import DEFAULT_SITE, check_site
from warehouse.store.bulk import BulkWriter, open_writer
from warehouse.store.group_commit import GroupCommit
from warehouse.store.ingest import Appender, ingest_path
from warehouse.store.item_versions import record_versions
from warehouse.store.small_append import SMALL_APPEND_ROWS, append_small

Within = Callable[[BulkWriter], None]
"""More writes inside an append's transaction (the writer's raw connection, placeholder)."""


class Store:
    """Items, locations, the transaction log, balances and their history of one site.

    One database holds every site; a store reads and writes only its ``site``'s rows
    (:meth:`for_site` gives another site's store on the same engine).
    """

    def __init__(self, engine: Engine, site: str = DEFAULT_SITE) -> None:
        self.engine = engine
        self.site = check_site(site)
        self._schema_seen = False
        self._case_qty: dict[str, float] | None = None
        """The item master's eaches per case, cached for small appends; reset by ingest
        (here) and re-read on a SKU it lacks (items another process ingested)."""
        self._group = GroupCommit(lambda: open_writer(self.engine, self.site),
                                  self._write_small)

    @classmethod
    def open(cls, url: str | None = None, *, site: str = DEFAULT_SITE) -> Store:
        """Open ``site``'s store at ``url`` (None: the settings' database, SQLite by default).

        Nothing is created but the SQLite file's folder; call :meth:`upgrade` for the schema.
        """
        url = url or get_settings().resolved_database_url()
        parsed = make_url(url)
        if parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(
                hide_password=False)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "",
                                                                              ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 60})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:  # a server: a connection that died with a restart is replaced, not handed out
            engine = create_engine(url, pool_pre_ping=True)
        return cls(engine, site)

    def for_site(self, site: str) -> Store:
        """The store of ``site`` on the same database (and connection pool).

        Raises:
            UserError: ``site`` is not a valid site name.
        """
        other = Store(self.engine, site)
        other._schema_seen = self._schema_seen
        return other

    def sites(self) -> list[str]:
        """Every site the database holds rows of, by name."""
        self._require_schema()
        return read.sites(self.engine)

    def upgrade(self) -> None:
        """Bring the schema to the latest migration (creating it on a new database)."""
        schema.upgrade(self.engine)

    def _require_schema(self) -> None:
        if self._schema_seen:
            return
        if "transactions" not in inspect(self.engine).get_table_names():
            raise UserError(f"{self._where()} has no Tally schema yet: run `tally db upgrade`")
        self._schema_seen = True

    def _where(self) -> str:
        return f"database {self.engine.url.render_as_string(hide_password=True)}"

    def ingest(self, path: Path | str, *, rejects_path: Path | None = None,
               progress: bool = False, chunksize: int = CHUNK_ROWS) -> LoadReport:
        """Load a dataset folder or a transactions file; balances continue from the store.

        Re-delivered txn_ids (in the file or already stored) are skipped and counted.
        All or nothing: a failure leaves the store as it was.

        Raises:
            UserError: missing schema, file, or required column.
        """
        self._require_schema()
        self._case_qty = None
        writer = open_writer(self.engine, self.site)
        failed = True
        try:
            writer.begin()
            report = ingest_path(writer, Path(path), rejects_path=rejects_path,
                                 progress=progress, chunksize=chunksize)
            writer.commit()
            failed = False
        finally:
            writer.close(failed=failed)
        return report

    def append_transactions(self, rows: pd.DataFrame | Sequence[Mapping[str, Any]], *,
                            within: Within | None = None) -> int:
        """Store already-validated transaction rows (the event API); new rows stored.

        ``rows`` (a frame, or row mappings) have the contract's columns (``ts`` tz-aware)
        and possibly extra ones. Fewer than :data:`SMALL_APPEND_ROWS` rows go in as plain
        tuples (:mod:`warehouse.store.small_append`), more through the bulk path.
        ``within`` runs inside the same transaction before it commits (e.g. the work
        queue's outbox row), so the rows and what it writes commit together or not at all.
        """
        self._require_schema()
        if len(rows) < SMALL_APPEND_ROWS:
            return self._append_small(
                cast("list[dict[str, Any]]", rows.to_dict("records"))
                if isinstance(rows, pd.DataFrame) else rows, within)
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows)).assign(
            ts=lambda f: pd.to_datetime(f["ts"], utc=True))
        report = LoadReport()
        writer = open_writer(self.engine, self.site)
        failed = True
        try:
            writer.begin()
            appender = Appender(writer, report, ingest_id=None)
            ordered = frame.reindex(columns=[*TRANSACTION_COLUMNS, *(
                c for c in frame.columns if c not in TRANSACTION_COLUMNS)])
            stored = appender.append(ordered.reset_index(drop=True))
            appender.finish()
            if within is not None:
                within(writer)
            writer.commit()
            failed = False
        finally:
            writer.close(failed=failed)
        return stored

    def _append_small(self, rows: Sequence[Mapping[str, Any]], within: Within | None) -> int:
        """Small appends by group commit: rows as tuples, balances moved by UPSERT.

        Concurrent callers' appends share a transaction
        (:mod:`warehouse.store.group_commit`); each one's rows and ``within`` still commit
        together or not at all.
        """
        return self._group.append(rows, within)

    def _write_small(self, writer: BulkWriter, rows: Sequence[Mapping[str, Any]]) -> int:
        return append_small(writer, rows, lambda sku: self._case_qty_of(writer, sku))

    def _case_qty_of(self, writer: BulkWriter, sku: str) -> float | None:
        """Eaches per case of ``sku`` from the cache, re-read once when it is missing."""
        if self._case_qty is None or sku not in self._case_qty:
            self._case_qty = {s: float(q) for s, q in writer.query(
                "SELECT sku, case_qty FROM items WHERE site = {p}", [self.site])}
        return self._case_qty.get(sku)

    def record_item_versions(self, rows: Sequence[Mapping[str, Any]], *, source: str) -> int:
        """An item-master event: a changed case quantity or unit weight adds a version.

        The version takes effect at the row's ``effective_from`` (else now); unknown SKUs
        are refused.

        Returns:
            How many SKUs got a new version (rows that change nothing change nothing).

        Raises:
            UserError: a row names a SKU the item master does not hold, or a bad time.
        """
        self._require_schema()
        frame = pd.DataFrame([dict(r) for r in rows])
        writer = open_writer(self.engine, self.site)
        failed = True
        try:
            writer.begin()
            try:
                unknown, changed = record_versions(writer, frame, source=source,
                                                   recorded_at=datetime.now(UTC))
            except ValueError as exc:
                raise UserError(str(exc)) from None
            if len(unknown):
                raise UserError(f"unknown SKU {unknown['sku'].iloc[0]!r}: ingest it with the "
                                "item master first")
            writer.commit()
            failed = False
        finally:
            writer.close(failed=failed)
        self._case_qty = None
        return changed

    def item_versions(self, sku: str | None = None) -> pd.DataFrame:
        """The item master's versions (of one SKU, or all), by SKU and version."""
        self._require_schema()
        return read.item_versions(self.engine, self.site, sku)

    def snapshot(self) -> Dataset:
        """Everything stored, as a :class:`Dataset`."""
        self._require_schema()
        return read.snapshot(self.engine, self.site)

    def items(self) -> pd.DataFrame:
        """The item master."""
        self._require_schema()
        return read.items(self.engine, self.site)

    def balances(self) -> pd.DataFrame:
        """Perpetual balances per (sku, location), eaches."""
        self._require_schema()
        return read.balances(self.engine, self.site)

    def balance_history(self, sku: str, location: str) -> pd.DataFrame:
        """The ledger of one (sku, location): each leg with the balance after it."""
        self._require_schema()
        return read.balance_history(self.engine, self.site, sku, location)

    def status(self) -> read.StoreStatus:
        """Counts, ingest history and a balance summary."""
        self._require_schema()
        return read.status(self.engine, self.site)

    def close(self) -> None:
        """Release the engine's connections."""
        self.engine.dispose()


def _sqlite_pragmas(connection: object, _record: object) -> None:
    """WAL lets the API read while an ingest writes; NORMAL sync is safe under WAL."""
    cursor = connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()
