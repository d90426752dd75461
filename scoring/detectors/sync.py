"""Integration faults: one event delivered twice under two ids, and events that post late.

A late event shows as a balance that stayed negative for longer than confirmation latency
explains, and then healed by an inflow; :mod:`scoring.detectors.stock` flags both ends.

Where the site's order feed itself repeats identical lines inside one order (on at least
``repeated_line_min_refs`` refs and ``repeated_line_ref_share`` of the refs with several
lines, learned from the history), a repeated line is that feed's pattern, not one event
delivered twice: it gets :data:`REPEATED_LINE_IN_REF`, never ``DUPLICATE_PAYLOAD``; so does
a stock posting repeated inside its document ref (:data:`scoring.baselines.FEED_TYPES`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.baselines import FEED_TYPES, feed_repeats, repeated_line
from scoring.detectors.base import Context, flags, key
from warehouse.contract import SAME_PAYLOAD

REPEATED_LINE_IN_REF = "REPEATED_LINE_IN_REF"
"""Reason code: an order line repeated, identical, inside one order ref, where the site's
feed does this on many orders (a systemic interface pattern: one cause behind all of them).

Its flags carry one link key, ``pattern:REPEATED_LINE_IN_REF``, shared by every occurrence
at the site (so they form one incident, and no SKU's other flags join it); their numbers
name the earlier line (``first_txn``) and the ``ref``. The repeated lines are not counted as
extra picks by ``VELOCITY_SPIKE``. The tickets side folds them into one systemic ticket
(contract section 5) that proposes checking the interface, not one VOID_DUPLICATE per line.
"""
# the contract's same payload, with the frame's numeric time for ts; weights only have to agree
# within the weighing tolerance
PAYLOAD = ["t" if c == "ts" else c for c in SAME_PAYLOAD]


def needs(ctx: Context) -> str | None:
    """Always applicable: needs only the required columns."""
    return None


def eligible(ctx: Context) -> dict[str, np.ndarray]:
    """Every row can repeat another; order lines and stock postings can repeat in their ref."""
    f = ctx.frame
    lines = f["type"].isin(FEED_TYPES).to_numpy() & f["ref"].notna().to_numpy()
    return {"DUPLICATE_PAYLOAD": np.ones(len(f), bool), REPEATED_LINE_IN_REF: lines}


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
    out = []
    if feed_repeats(ctx.baselines, p):
        feed = dup & repeated_line(f, FEED_TYPES)
        dup &= ~feed
        d = f[feed]
        out.append(flags(
            "sync",
            REPEATED_LINE_IN_REF,
            d["row"].to_numpy(),
            np.full(len(d), 0.3),
            {"first_txn": first[feed], "ref": d["ref"].to_numpy(), "qty": d["qty"].to_numpy(),
             "refs_with_repeats": np.full(len(d), ctx.baselines.repeated_line_refs),
             "share_of_orders": np.full(len(d), round(ctx.baselines.repeated_line_share, 4))},
            # the pattern key only: a SKU's other flags are not this feed's problem
            [np.full(len(d), f"pattern:{REPEATED_LINE_IN_REF}", dtype=object)],
        ))
    d = f[dup]
    out.append(flags(
        "sync",
        "DUPLICATE_PAYLOAD",
        d["row"].to_numpy(),
        np.full(len(d), 0.95),
        {"duplicate_of": first[dup], "type": d["type"].to_numpy(), "qty": d["qty"].to_numpy()},
        [key("sku", d["sku"]), key("txn", first[dup])],
    ))
    return pd.concat(out, ignore_index=True)
