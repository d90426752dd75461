"""Write-off patterns: repeated negative adjustments of one item by one user.

They are weighed by value, off-hours work and how the user compares with peers.

Count corrections (a clerk posting exactly the variance a count just found) are not
write-offs; ordinary damage spread over many users and items stays quiet because nothing
repeats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.baselines import DAY, off_hours, writeoff_mask
from scoring.detectors.base import Context, flags, key, strength, trailing_count

HOUR = 3600


def needs(ctx: Context) -> str | None:
    """Needs adjustments attributed to users."""
    f = ctx.frame
    if not (f["type"] == "ADJUSTMENT").any():
        return "no adjustments in the log"
    if not ctx.has("user_id"):
        return "adjustments carry no user_id"
    return None


def _corrections(f: pd.DataFrame, cand: pd.DataFrame, window: float) -> np.ndarray:
    """Adjustments that post exactly the variance of a count of the same bin shortly before."""
    counts = f[(f["type"] == "CYCLE_COUNT") & f["exp_eaches"].notna()]
    if counts.empty or cand.empty:
        return np.zeros(len(cand), bool)
    c = counts.assign(var=counts["eaches"] - counts["exp_eaches"])[["sku", "location", "t", "var"]]
    m = cand[["sku", "location", "t", "eaches"]].reset_index(names="ai").merge(
        c, on=["sku", "location"], suffixes=("", "_c"))
    m = m[(m["t"] >= m["t_c"]) & (m["t"] - m["t_c"] <= window)
          & ((m["var"] - m["eaches"]).abs() < 0.5)]
    return cand.index.isin(m["ai"])


def detect(ctx: Context) -> pd.DataFrame:
    """``WRITE_OFF_PATTERN`` on the repeated write-offs of one item by one user."""
    f = ctx.frame
    p = ctx.params
    w = f[writeoff_mask(f)]
    w = w[~_corrections(f, w, p["count_followup_h"] * HOUR)]
    if w.empty:
        return flags("adjustments", "", [], [], {}, [])
    user = w["user_id"].fillna("?").to_numpy(dtype=object)
    grp = user + "|" + w["sku"].to_numpy(dtype=object)
    n = trailing_count(grp, w["t"].to_numpy(), p["writeoff_window_d"] * DAY)
    costs = ctx.catalog.items["unit_cost"].dropna()
    hv_cost = float(costs.quantile(p["high_value_quantile"])) if len(costs) else np.inf
    cost = w["unit_cost"].fillna(0).to_numpy()
    hv = (w["home_type"] == "CAGE").to_numpy() | (cost >= hv_cost)
    off = off_hours(w, ctx.baselines)
    value = np.abs(w["eaches"].to_numpy()) * cost
    peers = ctx.baselines.adj_user
    peer_med = float(peers[peers > 0].median()) if (peers > 0).any() else 0.0
    rate = pd.Series(user).map(peers).fillna(0).to_numpy()
    fire = (n >= p["writeoff_repeat"]) | ((n >= 2) & (hv | off)) | (hv & off) \
        | (hv & (value >= p["writeoff_review_value"]))
    d = w[fire]
    raw = 0.5 + 0.1 * np.minimum(n[fire], 5) + 0.1 * hv[fire] + 0.1 * off[fire]
    return flags("adjustments", "WRITE_OFF_PATTERN", d["row"].to_numpy(), strength(raw, 0.5, 1.0),
                 {"user": user[fire], "writeoffs_same_item": n[fire],
                  "window_days": np.full(fire.sum(), p["writeoff_window_d"]),
                  "value": np.round(value[fire], 2), "high_value": hv[fire], "off_hours": off[fire],
                  "user_rate_per_1k": np.round(rate[fire], 2),
                  "peer_median_per_1k": np.full(fire.sum(), round(peer_med, 2)),
                  "reason_code": d["reason_code"].to_numpy()},
                 [key("sku", d["sku"]), key("user", grp[fire])])
