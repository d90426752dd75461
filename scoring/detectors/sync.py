"""Integration faults: one event delivered twice under two ids, and events that post late.

A late event shows as a balance that stayed negative for longer than confirmation latency
explains, and then healed by an inflow; :mod:`scoring.detectors.stock` flags both ends.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.detectors.base import Context, flags, key
from warehouse.contract import SAME_PAYLOAD

# the contract's same payload, with the frame's numeric time for ts; weights only have to agree
# within the weighing tolerance
PAYLOAD = ["t" if c == "ts" else c for c in SAME_PAYLOAD]


def needs(ctx: Context) -> str | None:
    """Always applicable: needs only the required columns."""
    return None


def detect(ctx: Context) -> pd.DataFrame:
    """``DUPLICATE_PAYLOAD``: a row identical to an earlier one in everything but its id.

    Measured weights count as identical within ``weight_tolerance`` (ratio) or
    ``weight_abs_tol_kg``; a weight on one row and none on the other does not.
    """
    f = ctx.frame
    p = ctx.params
    sub = f[PAYLOAD].astype(object).where(pd.notna(f[PAYLOAD]), "")
    h = pd.util.hash_pandas_object(sub, index=False).to_numpy()
    dup = pd.Series(h).duplicated(keep="first").to_numpy()
    if not dup.any():
        return flags("sync", "", [], [], {}, [])
    first_row = pd.Series(np.arange(len(f))).groupby(h).transform("first").to_numpy()
    w = f["weight_kg"].to_numpy(dtype="float64")
    w0 = w[first_row]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.maximum(w, w0) / np.minimum(w, w0)
        same_w = (np.isnan(w) & np.isnan(w0)) | (np.abs(w - w0) <= p["weight_abs_tol_kg"]) | (
            ratio <= 1 + (p["weight_tolerance"] - 1) / 4
        )
    dup = dup & same_w
    if not dup.any():
        return flags("sync", "", [], [], {}, [])
    first = f["txn_id"].to_numpy()[first_row]
    d = f[dup]
    return flags(
        "sync",
        "DUPLICATE_PAYLOAD",
        d["row"].to_numpy(),
        np.full(len(d), 0.95),
        {"duplicate_of": first[dup], "type": d["type"].to_numpy(), "qty": d["qty"].to_numpy()},
        [key("sku", d["sku"]), key("txn", first[dup])],
    )
