"""The reference WMS's own database: master data, balances, work orders, applied actions.

It is a separate system from Tally, so its tables live on their own SQLModel registry and
never appear in Tally's metadata or migrations.
"""

from __future__ import annotations

from sqlalchemy import Text
from sqlalchemy.orm import registry
from sqlmodel import Column, Field, SQLModel


class SimModel(SQLModel, registry=registry()):
    """Base of the reference WMS's tables (their own metadata)."""


class SimItem(SimModel, table=True):
    """One item-master row as the WMS holds it."""

    __tablename__ = "wms_item"

    sku: str = Field(primary_key=True, max_length=128)
    description: str = ""
    case_qty: float = Field(default=1, gt=0)
    unit_weight_kg: float | None = None
    unit_cost: float | None = None
    home_location: str | None = None


class SimBalance(SimModel, table=True):
    """The WMS's on-hand quantity (eaches) of one SKU at one location."""

    __tablename__ = "wms_balance"

    sku: str = Field(primary_key=True, max_length=128)
    location: str = Field(primary_key=True, max_length=128)
    qty: float = 0.0


class SimWorkOrder(SimModel, table=True):
    """A task or record an action opened: a recount, an investigation, a hold, a claim, a void."""

    __tablename__ = "wms_work_order"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    sku: str | None = None
    location: str | None = None
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    idempotency_key: str = Field(index=True, max_length=200)


class SimAppliedAction(SimModel, table=True):
    """An action applied under an idempotency key; the key is the dedup guarantee."""

    __tablename__ = "wms_applied_action"

    idempotency_key: str = Field(primary_key=True, max_length=200)
    digest: str = Field(max_length=64)
    action_type: str = Field(max_length=32)
    action: str = Field(sa_column=Column(Text, nullable=False))
    reference: str = Field(max_length=64)
    applied_at: str = Field(max_length=40)
