"""Rescans: one SKU, type and quantity scanned again on the same scanner seconds later.

The scanner is the row's device, or its user where the site records no device (the
scorer's double-scan rule follows the same scanner).

Shared by the agent's features (is a row one of a rescan pair?) and the policy (which row is
the second scan, whose effect to undo), so both mean the same pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RESCAN_S = 120.0
"""Largest gap between two scans that still counts as one handling scanned twice."""
_KEYS = ["sku", "scanner", "type", "qty"]


def scanner(ledger: pd.DataFrame) -> pd.Series:
    """Per row, who scanned it: the device, else the user (missing when neither is known)."""
    none = pd.Series(None, index=ledger.index, dtype=object)
    dev = ledger["device_id"] if "device_id" in ledger else none
    user = ledger["user_id"] if "user_id" in ledger else none
    return dev.where(dev.notna(), user)


def rescan_flags(ledger: pd.DataFrame, window_s: float = RESCAN_S
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per row: was the same scan made earlier, and is it made again later, within the window?

    Scans at the very same instant are not rescans (that is a duplicate payload, not a second
    handling). Rows without a scanner or quantity are never rescans.

    Args:
        ledger: transactions with ``ts``, ``sku``, ``device_id`` or ``user_id``, ``type``
            and ``qty``.
        window_s: largest gap in seconds.

    Returns:
        ``(after_twin, before_twin)``: boolean arrays in the ledger's row order.
    """
    after = np.zeros(len(ledger), dtype=bool)
    before = np.zeros(len(ledger), dtype=bool)
    if not {"sku", "type", "qty"} <= set(ledger.columns):
        return after, before
    ledger = ledger.assign(scanner=scanner(ledger))
    ok = ledger[_KEYS].notna().all(axis=1).to_numpy()
    if not ok.any():
        return after, before
    ts = ledger["ts"]
    if ts.dt.tz is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    t_all = ts.astype("datetime64[ns]").to_numpy().view("int64")
    grp = ledger.loc[ok, _KEYS].groupby(_KEYS, sort=False).ngroup().to_numpy()
    pos, t = np.flatnonzero(ok), t_all[ok]
    order = np.lexsort((t, grp))
    g, t, pos = grp[order], t[order], pos[order]
    first = np.r_[True, (g[1:] != g[:-1]) | (t[1:] != t[:-1])]  # one entry per (group, time)
    ug, ut = g[first], t[first]
    close = (ug[1:] == ug[:-1]) & (np.diff(ut) <= window_s * 1e9)
    has_prev = np.r_[False, close]
    has_next = np.r_[close, False]
    entry = np.cumsum(first) - 1
    after[pos] = has_prev[entry]
    before[pos] = has_next[entry]
    return after, before
