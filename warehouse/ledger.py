"""The perpetual ledger: running system balances (eaches per SKU and location) from the log.

One vectorized replay of the contract's balance rules (CONTRACT.md section 1) that both the
agent's features and the read-only tools use, so "the balance before this row" means the
same thing everywhere. RECEIPT, RETURN and ADJUSTMENT add at ``location``; PUTAWAY and MOVE
take from ``location`` and add at ``to_location``; PICK takes from ``location``;
CYCLE_COUNT changes nothing (its variance is ``qty - expected_qty``; a blind count, one
without ``expected_qty``, is compared with the running balance where the bin has one, as
the scorer compares it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from warehouse.contract import BALANCE_SIGN, TYPES_WITH_DESTINATION

_WITH_DEST = [t.value for t in TYPES_WITH_DESTINATION]


def with_balances(transactions: pd.DataFrame) -> pd.DataFrame:
    """A copy of the log (in its time order) with the balance columns added.

    Args:
        transactions: contract transactions, sorted by ``ts``; ``eaches`` is used when present
            (``qty`` otherwise).

    Returns:
        The rows with ``eaches`` (float), ``sign`` (effect at ``location``), ``bal_before`` and
        ``bal_after`` (the balance at ``location`` around the row), ``dest_after`` (the
        balance at ``to_location`` after a PUTAWAY or MOVE, else NaN) and ``var``
        (CYCLE_COUNT variance against ``expected_qty``, or on a blind count against
        ``bal_before`` when an earlier row touched the bin; else NaN).
    """
    tx = transactions.copy()
    qty = pd.to_numeric(tx["qty"], errors="coerce")
    eaches = pd.to_numeric(tx["eaches"], errors="coerce") if "eaches" in tx else qty
    tx["eaches"] = eaches.fillna(qty)
    tx["sign"] = tx["type"].map(BALANCE_SIGN).fillna(0.0).astype(float)
    n = np.arange(len(tx))
    legs = pd.DataFrame({"sku": tx["sku"].to_numpy(), "loc": tx["location"].to_numpy(),
                         "d": (tx["sign"] * tx["eaches"]).to_numpy(), "i": n})
    dest = (tx["to_location"].notna() & tx["type"].isin(_WITH_DEST)).to_numpy()
    legs2 = pd.DataFrame({"sku": tx["sku"].to_numpy()[dest],
                          "loc": tx["to_location"].to_numpy()[dest],
                          "d": tx["eaches"].to_numpy()[dest], "i": n[dest]})
    all_legs = pd.concat([legs, legs2], ignore_index=True).sort_values("i", kind="stable")
    by_bin = all_legs.groupby(["sku", "loc"], sort=False)
    all_legs["after"] = by_bin["d"].cumsum()
    all_legs["seen"] = by_bin.cumcount() > 0
    first_leg = ~all_legs.duplicated(subset="i", keep="first").to_numpy()
    own = all_legs.loc[first_leg].sort_values("i")
    tx["bal_after"] = own["after"].to_numpy()
    dest_after = all_legs.loc[~first_leg].set_index("i")["after"]
    tx["dest_after"] = dest_after.reindex(n).to_numpy()
    tx["bal_before"] = tx["bal_after"] - tx["sign"] * tx["eaches"]
    expected = pd.to_numeric(tx["expected_qty"], errors="coerce")
    counted = (tx["type"] == "CYCLE_COUNT").to_numpy()
    blind = counted & expected.isna().to_numpy() & own["seen"].to_numpy()
    tx["var"] = np.where(counted, qty - expected, np.nan)
    tx.loc[blind, "var"] = (qty - tx["bal_before"]).to_numpy()[blind]
    return tx
