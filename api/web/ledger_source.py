"""Where the ticket plot reads the transaction log from, with running balances.

The agent's :class:`tools.view.WarehouseView` already holds the ledger when the app keeps
one on ``app.state.view``; otherwise the store's snapshot is replayed with
:func:`warehouse.ledger.with_balances`. The replay is kept for a short while so that a
queue of people opening tickets does not replay the log once per plot.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pandas as pd

from warehouse.contract import TRANSACTION_COLUMNS
from warehouse.ledger import with_balances

CACHE_S = 30.0
_lock = threading.Lock()


def _empty() -> pd.DataFrame:
    return with_balances(pd.DataFrame(columns=[*TRANSACTION_COLUMNS, "eaches"]))


def current_ledger(app: Any) -> pd.DataFrame:
    """The log with balance columns, from the app's view or its store's snapshot.

    A store without ``snapshot()`` (or with nothing in it) gives an empty ledger, and the
    plot says there is nothing to draw.
    """
    view = getattr(app.state, "view", None)
    if view is not None:
        return view.ledger
    store = getattr(app.state, "store", None)
    if store is None or not hasattr(store, "snapshot"):
        return _empty()
    with _lock:
        cached = getattr(app.state, "ui_ledger", None)
        if cached is not None and time.monotonic() - cached[0] < CACHE_S:
            return cached[1]
        transactions = store.snapshot().transactions
        ledger = with_balances(transactions) if len(transactions) else _empty()
        app.state.ui_ledger = (time.monotonic(), ledger)
        return ledger
