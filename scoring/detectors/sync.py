"""Integration faults: one event delivered twice under two ids, and events that post late.

A late event shows as a balance that stayed negative for longer than confirmation latency
explains, and then healed by an inflow; :mod:`scoring.detectors.stock` flags both ends.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.detectors.base import Context, flags, key

PAYLOAD = ["t", "type", "sku", "qty", "uom", "location", "to_location", "user_id", "device_id",
           "ref", "weight_kg", "expected_qty"]


def needs(ctx: Context) -> str | None:
    """Always applicable: needs only the required columns."""
    return None


def detect(ctx: Context) -> pd.DataFrame:
    """``DUPLICATE_PAYLOAD``: a row identical to an earlier one in everything but its id."""
    f = ctx.frame
    sub = f[PAYLOAD].astype(object).where(pd.notna(f[PAYLOAD]), "")
    h = pd.util.hash_pandas_object(sub, index=False).to_numpy()
    dup = pd.Series(h).duplicated(keep="first").to_numpy()
    if not dup.any():
        return flags("sync", "", [], [], {}, [])
    first = pd.Series(f["txn_id"].to_numpy()).groupby(h).transform("first").to_numpy()
    d = f[dup]
    return flags(
        "sync",
        "DUPLICATE_PAYLOAD",
        d["row"].to_numpy(),
        np.full(len(d), 0.95),
        {"duplicate_of": first[dup], "type": d["type"].to_numpy(), "qty": d["qty"].to_numpy()},
        [key("sku", d["sku"]), key("txn", first[dup])],
    )
