"""The store's tables: master data, the transaction log, balances and their history.

Contract columns keep their contract names; columns a file carried beyond the contract are
kept per row as a JSON object in ``extras``. Quantities on the ledger are eaches.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from warehouse.sites import DEFAULT_SITE, site_column
from warehouse.store.verdicts import VERDICT_TABLES

KEY = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit key; INTEGER on SQLite so that a primary key is the rowid (fast appends)."""


class ItemRow(SQLModel, table=True):
    """One SKU of the item master."""

    __tablename__ = "items"

    site: str = Field(default=DEFAULT_SITE, sa_column=site_column(primary_key=True))
    sku: str = Field(primary_key=True, max_length=128)
    description: str = Field(sa_column=Column(Text, nullable=False))
    gtin: str | None = Field(default=None, max_length=32)
    category: str | None = Field(default=None, max_length=128)
    case_qty: int
    unit_weight_kg: float | None = None
    unit_cost: float | None = None
    home_location: str | None = Field(default=None, max_length=128)
    extras: str | None = Field(default=None, sa_column=Column(Text))


class ItemVersionRow(SQLModel, table=True):
    """One version of a SKU's master pack data.

    What ``case_qty`` and ``unit_weight_kg`` were from ``effective_at`` on (None: from the
    start of the record) until the next version.
    """

    __tablename__ = "item_versions"
    __table_args__ = (Index("ix_item_versions_site_sku_version", "site", "sku", "version",
                            unique=True),)

    site: str = Field(default=DEFAULT_SITE, sa_column=site_column())
    id: int | None = Field(default=None, sa_column=Column(KEY, primary_key=True,
                                                          autoincrement=True))
    sku: str = Field(max_length=128)
    version: int
    effective_at: datetime | None = Field(default=None,
                                          sa_column=Column(DateTime(timezone=True)))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    case_qty: int
    unit_weight_kg: float | None = None
    source: str = Field(sa_column=Column(Text, nullable=False))


class LocationRow(SQLModel, table=True):
    """One storage location."""

    __tablename__ = "locations"

    site: str = Field(default=DEFAULT_SITE, sa_column=site_column(primary_key=True))
    location_id: str = Field(primary_key=True, max_length=128)
    zone: str = Field(max_length=64)
    type: str = Field(max_length=16)
    x_m: float | None = None
    y_m: float | None = None
    level: float | None = None
    max_weight_kg: float | None = None
    extras: str | None = Field(default=None, sa_column=Column(Text))


class TransactionRow(SQLModel, table=True):
    """One WMS event; ``seq`` is the order it was posted (ingested) in."""

    __tablename__ = "transactions"
    __table_args__ = (UniqueConstraint("site", "txn_id", name="uq_transactions_site_txn_id"),
                      Index("ix_transactions_site_seq", "site", "seq"))

    site: str = Field(default=DEFAULT_SITE, sa_column=site_column())
    seq: int = Field(sa_column=Column(KEY, primary_key=True, autoincrement=False))
    txn_id: str = Field(max_length=128)
    ts: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    type: str = Field(max_length=16)
    sku: str = Field(max_length=128)
    qty: float
    uom: str = Field(max_length=2)
    location: str = Field(max_length=128)
    to_location: str | None = Field(default=None, max_length=128)
    user_id: str = Field(max_length=128)
    device_id: str | None = Field(default=None, max_length=128)
    weight_kg: float | None = None
    expected_qty: float | None = None
    reason_code: str | None = Field(default=None, max_length=64)
    ref: str | None = Field(default=None, max_length=128)
    lot: str | None = Field(default=None, max_length=128)
    expiry: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, sa_column=Column(Text))
    eaches: float | None = Field(default=None, description="qty in eaches; NaN-less: NULL")
    extras: str | None = Field(default=None, sa_column=Column(Text))
    ingest_id: int | None = Field(default=None, description="the ingest run that loaded it")


class BalanceRow(SQLModel, table=True):
    """The perpetual (system) balance of one SKU at one location, in eaches."""

    __tablename__ = "balances"

    site: str = Field(default=DEFAULT_SITE, sa_column=site_column(primary_key=True))
    sku: str = Field(primary_key=True, max_length=128)
    location: str = Field(primary_key=True, max_length=128)
    qty: float
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class BalanceLegRow(SQLModel, table=True):
    """One leg of the ledger: a transaction's effect on one (sku, location) balance.

    ``id`` is ``seq * 2 + leg`` (leg 0 at ``location``, leg 1 at ``to_location``), so
    ordering by id replays the ledger in posting order. CYCLE_COUNT rows have a leg with
    delta 0, so a replay shows the system balance each count was taken against.
    """

    __tablename__ = "balance_history"
    __table_args__ = (Index("ix_balance_history_site_key", "site", "sku", "location", "id"),)

    site: str = Field(default=DEFAULT_SITE, sa_column=site_column())
    id: int = Field(sa_column=Column(KEY, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    sku: str = Field(max_length=128)
    location: str = Field(max_length=128)
    delta: float
    balance_after: float


class IngestRun(SQLModel, table=True):
    """One ingest of a folder or file: what was read, loaded, rejected and skipped."""

    __tablename__ = "ingest_runs"

    site: str = Field(default=DEFAULT_SITE, sa_column=site_column())
    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(sa_column=Column(Text, nullable=False))
    started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    finished_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    rows_read: int
    rows_loaded: int
    rejected: int
    redelivered: int
    rejected_by_reason: str = Field(sa_column=Column(Text, nullable=False), default="{}")
    warnings: str = Field(sa_column=Column(Text, nullable=False), default="{}")
    rejects_path: str | None = Field(default=None, sa_column=Column(Text))


WAREHOUSE_TABLES = [
    ItemRow.__table__,  # type: ignore[attr-defined]
    ItemVersionRow.__table__,  # type: ignore[attr-defined]
    LocationRow.__table__,  # type: ignore[attr-defined]
    TransactionRow.__table__,  # type: ignore[attr-defined]
    BalanceRow.__table__,  # type: ignore[attr-defined]
    BalanceLegRow.__table__,  # type: ignore[attr-defined]
    IngestRun.__table__,  # type: ignore[attr-defined]
    *VERDICT_TABLES,
]
