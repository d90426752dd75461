"""The warehouse store: tables, bulk ingest, balances and their history, migrations."""

from warehouse.store.read import StoreStatus
from warehouse.store.store import Store

__all__ = ["Store", "StoreStatus"]
