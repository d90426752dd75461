"""Where the UI reads the transaction log (with running balances) and the item master from.

The agent's :class:`tools.view.WarehouseView` already holds both when the app keeps one on
``app.state.view``; otherwise the store's snapshot is replayed once with
:func:`warehouse.ledger.with_balances` and kept until a new transaction is stored (the
store's newest posting sequence number is the cache key, one cheap query per request).
Each ticket's plot reads a small per-ticket slice of that ledger (the rows of the SKUs it
draws), cached under the same key, so opening a ticket again never scans the whole log.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import text

from warehouse.contract import TRANSACTION_COLUMNS
from warehouse.ledger import with_balances

TICKET_SLICES = 256
"""Per-ticket ledger slices (and plots) kept in memory, least recently used dropped first."""
_lock = threading.Lock()


@dataclass
class Snapshot:
    """The ledger and item master the UI draws on, and the key they were read under."""

    key: object
    ledger: pd.DataFrame
    items: pd.DataFrame
    slices: OrderedDict[Any, Any] = field(default_factory=OrderedDict)

    def description(self, sku: str | None) -> str | None:
        """The item master's description of ``sku``, None when unknown."""
        if sku is None or "description" not in self.items.columns or sku not in self.items.index:
            return None
        value = self.items.at[sku, "description"]
        return str(value) if isinstance(value, str) and value else None

    def cached(self, key: Any, build: Any) -> Any:
        """``build()`` once per ``key`` while this snapshot is current (LRU bounded)."""
        with _lock:
            if key in self.slices:
                self.slices.move_to_end(key)
                return self.slices[key]
        value = build()
        with _lock:
            self.slices[key] = value
            while len(self.slices) > TICKET_SLICES:
                self.slices.popitem(last=False)
        return value


def _empty_ledger() -> pd.DataFrame:
    return with_balances(pd.DataFrame(columns=[*TRANSACTION_COLUMNS, "eaches"]))


def _store_key(store: Any) -> object:
    try:
        with store.engine.connect() as conn:
            return int(conn.execute(text("SELECT COALESCE(MAX(seq), 0) FROM transactions"))
                       .scalar_one())
    except Exception:  # noqa: BLE001 - a store without a seq column: key on the object only
        return id(store)


def current_snapshot(app: Any, site: str | None = None) -> Snapshot:
    """The log with balance columns and the items, from the app's view or its store.

    ``site``: another site's than the service's own (its store's), read from that site's
    rows and kept apart.
    """
    store: Any = getattr(app.state, "store", None)
    if site is not None and site != getattr(store, "site", site) and hasattr(store, "for_site"):
        others: dict[str, Snapshot] = getattr(app.state, "ui_site_snapshots", {})
        others[site] = _from_store(store.for_site(site), others.get(site))
        app.state.ui_site_snapshots = others
        return others[site]
    view = getattr(app.state, "view", None)
    cached: Snapshot | None = getattr(app.state, "ui_snapshot", None)
    if view is not None:
        key: object = ("view", id(view))
        if cached is None or cached.key != key:
            cached = Snapshot(key, view.ledger, view.items)
            app.state.ui_snapshot = cached
        return cached
    if store is None or not hasattr(store, "snapshot"):
        return Snapshot(None, _empty_ledger(), pd.DataFrame())
    cached = _from_store(store, cached)
    app.state.ui_snapshot = cached
    return cached


def _from_store(store: Any, cached: Snapshot | None) -> Snapshot:
    """``cached`` while the store has no newer transaction, else a fresh snapshot."""
    key = ("store", _store_key(store))
    if cached is not None and cached.key == key:
        return cached
    data = store.snapshot()
    ledger = with_balances(data.transactions) if len(data.transactions) else _empty_ledger()
    items = data.items.drop_duplicates("sku", keep="last").set_index("sku", drop=False)
    return Snapshot(key, ledger, items)


def current_ledger(app: Any) -> pd.DataFrame:
    """The log with balance columns (see :func:`current_snapshot`)."""
    return current_snapshot(app).ledger
