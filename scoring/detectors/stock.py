"""Ghost inventory: picks from empty bins, balances that stay negative, late inflows.

A late inflow is the one that finally heals a long negative balance.

A cycle count that found more than the system showed, with no correction posted, leaves the
system short of what is on the shelf: a later negative balance at that bin, down to that
surplus, is an after-effect of the count (already flagged there), not news.

Confirmation latency makes balances dip below zero for minutes all the time; the grace
period is learned from how long negative balances usually last in the history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.balances import OUTBOUND_TYPES, unknown_stock_share
from scoring.detectors.base import Context, flags, key, strength

OUT_TYPES = OUTBOUND_TYPES


def needs(ctx: Context) -> str | None:
    """Balances mean something only when the log starts from known stock."""
    f = ctx.frame
    if not f["type"].isin(OUT_TYPES).any():
        return "no outbound movements"
    share = unknown_stock_share(f)
    if share > ctx.params["unknown_stock_share"]:
        return (f"log does not start from known balances ({share:.0%} of outbound rows take "
                "from bins with no recorded stock)")
    return None


def eligible(ctx: Context) -> dict[str, np.ndarray]:
    """Outbound rows; inflows into a destination."""
    f = ctx.frame
    out = f["type"].isin(OUT_TYPES).to_numpy()
    return {
        "PICK_WITHOUT_STOCK": out,
        "NEGATIVE_BALANCE": out,
        "LATE_INFLOW_HEALS": f["dest_after"].notna().to_numpy(),
    }


def detect(ctx: Context) -> pd.DataFrame:
    """``PICK_WITHOUT_STOCK``, ``NEGATIVE_BALANCE`` and ``LATE_INFLOW_HEALS``."""
    f = ctx.frame
    p = ctx.params
    grace = float(ctx.baselines.neg_grace_s)
    out_rows = f["type"].isin(OUT_TYPES).to_numpy()
    bin_key = key("bin", f["sku"] + "@" + f["location"])
    no_stock = out_rows & ~f["pair_known"].to_numpy() & f["sku_known"].to_numpy() \
        & (f["bal_before"].to_numpy() <= 0)
    d = f[no_stock]
    res = [
        flags(
            "stock",
            "PICK_WITHOUT_STOCK",
            d["row"].to_numpy(),
            np.full(len(d), 0.8),
            {
                "location": d["location"].to_numpy(),
                "balance_before": d["bal_before"].to_numpy(),
                "home": d["home"].to_numpy(),
            },
            [key("sku", d["sku"]), bin_key[no_stock], key("bin", d["sku"] + "@" + d["home"])],
        )
    ]
    neg_for = f["neg_for_s"].to_numpy()
    neg = (
        out_rows
        & f["pair_known"].to_numpy()
        & ~no_stock
        & (neg_for > grace)
        & (f["bal_after"].to_numpy() <= -p["negative_min_units"])
    )
    if neg.any():  # a count's surplus only clears rows that would fire without it
        neg &= f["bal_after"].to_numpy() < -_count_surplus(f, f["location"])
    d = f[neg]
    hours = neg_for[neg] / 3600
    res.append(
        flags(
            "stock",
            "NEGATIVE_BALANCE",
            d["row"].to_numpy(),
            strength(np.minimum(hours, 48), grace / 3600, 24),
            {
                "balance_after": d["bal_after"].to_numpy(),
                "negative_for_h": np.where(np.isfinite(hours), np.round(hours, 2), None),
                "grace_min": np.full(len(d), round(grace / 60, 1)),
            },
            [key("sku", d["sku"]), bin_key[neg]],
        )
    )
    dest_before = f["dest_after"].to_numpy() - f["eaches"].to_numpy()
    since = f["dest_neg_since_s"].to_numpy()
    heal = (
        (dest_before <= -p["negative_min_units"])
        & (f["dest_after"].to_numpy() >= 0)
        & (since > grace)
    )
    if heal.any():
        heal &= dest_before < -_count_surplus(f, f["to_location"])
    d = f[heal]
    res.append(
        flags(
            "stock",
            "LATE_INFLOW_HEALS",
            d["row"].to_numpy(),
            strength(since[heal] / 3600, grace / 3600, 12),
            {
                "to_location": d["to_location"].to_numpy(),
                "balance_before": dest_before[heal],
                "negative_for_h": np.round(since[heal] / 3600, 2),
            },
            [key("sku", d["sku"]), key("bin", d["sku"] + "@" + d["to_location"])],
        )
    )
    return pd.concat(res, ignore_index=True)


def _count_surplus(f: pd.DataFrame, location: pd.Series) -> np.ndarray:
    """Per row: eaches the last count at (sku, ``location``) found above the system, uncorrected.

    The surplus of the latest cycle count before the row, less the adjustments posted at
    that bin since; 0 where no count came before or the count found no surplus.
    """
    counted = (f["type"] == "CYCLE_COUNT") & f["eaches"].notna() & f["exp_eaches"].notna()
    state = f[counted | (f["type"] == "ADJUSTMENT")][["row", "sku", "location", "type"]].copy()
    state["bin"] = _bins(state["sku"], state["location"])
    var = (f["eaches"] - f["exp_eaches"]).reindex(state.index)
    adj = np.where(state["type"] == "ADJUSTMENT", f["eaches"].reindex(state.index), 0.0)
    seg = (state["type"] == "CYCLE_COUNT").groupby(state["bin"]).cumsum()
    state["surplus"] = np.where(state["type"] == "CYCLE_COUNT", var, 0.0) - pd.Series(
        adj, index=state.index
    ).fillna(0).groupby([state["bin"], seg]).cumsum()
    state["surplus"] = state["surplus"].where(seg > 0, 0.0).clip(lower=0)
    query = pd.DataFrame({"row": f["row"].to_numpy(), "bin": _bins(f["sku"], location)})
    if state.empty:
        return np.zeros(len(f))
    found = pd.merge_asof(query, state[["row", "bin", "surplus"]], on="row", by="bin",
                          allow_exact_matches=False)
    return found["surplus"].fillna(0).to_numpy()


def _bins(sku: pd.Series, location: pd.Series) -> np.ndarray:
    """``sku@location`` as plain strings (empty where a part is missing)."""
    return (sku.fillna("") + "@" + location.fillna("")).to_numpy(dtype=object)
