"""The perpetual balance: ledger legs of transactions and balances after each leg.

Effect rules (contract section 1): RECEIPT and RETURN add at ``location``; PUTAWAY and
MOVE take from ``location`` and add at ``to_location``; PICK takes from ``location``;
ADJUSTMENT adds its signed quantity; CYCLE_COUNT changes nothing but still gets a leg of
delta 0, so a replay shows the balance each count was taken against. Legs are in eaches;
a row whose eaches are unknown (CS of an unknown SKU) has no leg. Balances run in posting
order (``seq``), the order the WMS delivered the events, late events included.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from warehouse.contract import BALANCE_SIGN, TYPES_WITH_DESTINATION

_DESTINATION = [t.value for t in TYPES_WITH_DESTINATION]
LEG_COLUMNS = ["id", "seq", "sku", "location", "delta", "balance_after"]
_SEPARATOR = "\x1f"
"""Unit separator: cannot appear in an id read from a file."""


def legs(transactions: pd.DataFrame) -> pd.DataFrame:
    """One row per balance effect of ``transactions`` (which carry ``seq`` and ``eaches``).

    Returns a frame with ``id`` (= seq * 2 + leg), ``seq``, ``sku``, ``location`` and
    ``delta``, ordered by ``id``.
    """
    needed = transactions[["seq", "type", "sku", "location", "to_location", "eaches"]]
    known = needed[needed["eaches"].notna().to_numpy()]
    kind = pd.Index(list(BALANCE_SIGN)).get_indexer(pd.Index(known["type"]))
    sign = np.asarray([*BALANCE_SIGN.values(), np.nan], dtype="float64")[kind]  # -1: unknown, NaN
    seq = known["seq"].to_numpy(dtype=np.int64)
    source = pd.DataFrame({"id": seq * 2, "seq": seq, "sku": known["sku"].array,
                           "location": known["location"].array,
                           "delta": known["eaches"].to_numpy() * sign})
    moving = known[known["type"].isin(_DESTINATION).to_numpy()]
    seq = moving["seq"].to_numpy(dtype=np.int64)
    destination = pd.DataFrame({"id": seq * 2 + 1, "seq": seq, "sku": moving["sku"].array,
                                "location": moving["to_location"].array,
                                "delta": moving["eaches"].to_numpy()})
    out = pd.concat([source, destination], ignore_index=True)
    return out.sort_values("id", kind="stable").reset_index(drop=True)


class RunningBalances:
    """Balances per (sku, location) carried from chunk to chunk of an ingest."""

    def __init__(self, balances: pd.DataFrame) -> None:
        """Start from stored balances (columns sku, location, qty, last_seq)."""
        self.qty: dict[str, float] = dict(zip(_keys(balances), balances["qty"], strict=True))
        self.changed: dict[str, int] = {}
        """Keys touched since the start, with the seq of their last leg."""

    def apply(self, leg_frame: pd.DataFrame) -> pd.DataFrame:
        """Set ``balance_after`` on legs (ordered by id) and move the balances on."""
        if leg_frame.empty:
            return leg_frame.assign(balance_after=pd.Series(dtype="float64"))
        codes, uniques = pd.factorize(_keys(leg_frame))
        start = np.fromiter((self.qty.get(key, 0.0) for key in uniques), dtype="float64",
                            count=len(uniques))
        running = leg_frame["delta"].groupby(codes, sort=False).cumsum().to_numpy()
        after = start[codes] + running
        # the last leg of each key holds its new balance
        last = np.full(len(uniques), -1, dtype=np.int64)
        last[codes] = np.arange(len(codes))
        seqs = leg_frame["seq"].to_numpy()
        for key, position in zip(uniques, last, strict=True):
            self.qty[key] = float(after[position])
            self.changed[key] = int(seqs[position])
        return leg_frame.assign(balance_after=after)

    def changed_rows(self) -> pd.DataFrame:
        """The touched balances as rows for the ``balances`` table."""
        keys = list(self.changed)
        parts = [key.split(_SEPARATOR, 1) for key in keys]
        return pd.DataFrame({
            "sku": [p[0] for p in parts], "location": [p[1] for p in parts],
            "qty": [self.qty[k] for k in keys], "last_seq": list(self.changed.values()),
        })


def _keys(frame: pd.DataFrame) -> np.ndarray:
    """One string per (sku, location), for fast dictionary look-ups."""
    joined = frame["sku"].astype("str") + _SEPARATOR + frame["location"].astype("str")
    return joined.to_numpy(dtype=object)
