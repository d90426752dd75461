"""Multivariate catch-all: summed empirical tail probabilities of scale-free features.

In the spirit of ECOD, against quantiles learned from history. It ranks every row and flags
only rows beyond anything the history showed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.baselines import Baselines, off_hours
from scoring.detectors.base import Context, flags, key

QUANTILES = np.linspace(0.0, 1.0, 401)


def features(frame: pd.DataFrame, baselines: Baselines) -> pd.DataFrame:
    """Scale-free row features: size vs the SKU's usual, weight ratio, balance, hour, variance."""
    idx = pd.MultiIndex.from_arrays([frame["sku"], frame["type"], frame["loc_type"].fillna("")])
    base = baselines.qty.reindex(idx) if not baselines.qty.empty else None
    le = np.log1p(frame["eaches"].abs().to_numpy())
    if base is not None:
        qz = (le - base["med"].to_numpy()) / np.maximum(base["mad"].fillna(0).to_numpy(), 0.25)
    else:
        qz = np.zeros(len(frame))
    w = frame["weight_kg"].to_numpy() / (frame["eaches"].abs().to_numpy()
                                         * frame["unit_weight"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        wr = np.abs(np.log(w))
        var = np.abs(frame["eaches"].to_numpy() - frame["exp_eaches"].to_numpy()) / np.maximum(
            np.abs(frame["exp_eaches"].to_numpy()), 1.0)
    return pd.DataFrame({
        "qty_z": np.nan_to_num(qz),
        "weight_log_ratio": np.nan_to_num(wr, posinf=10.0),
        "neg_balance": np.nan_to_num(-np.minimum(frame["bal_after"].to_numpy(), 0)),
        "off_hours": off_hours(frame, baselines).astype("float64"),
        "rel_variance": np.nan_to_num(var),
    })


def fit_tails(x: pd.DataFrame) -> dict[str, np.ndarray]:
    """Quantiles of each feature in history (the reference distribution)."""
    return {c: np.quantile(x[c].to_numpy(), QUANTILES) for c in x.columns}


def tail_score(x: pd.DataFrame, tails: dict[str, np.ndarray]) -> np.ndarray:
    """Sum over features of -log(right-tail probability) against the history quantiles."""
    total = np.zeros(len(x))
    for c, q in tails.items():
        v = x[c].to_numpy()
        cdf = np.interp(v, q, QUANTILES, left=0.0, right=1.0)
        above = v > q[-1]
        tail = np.maximum(1.0 - cdf, 1.0 / (len(QUANTILES) * 50))
        tail = np.where(above, 1.0 / (len(QUANTILES) * 100), tail)
        total += -np.log(tail)
    return total


def needs(ctx: Context) -> str | None:
    """Needs the history quantiles."""
    if not ctx.baselines.tails:
        return "no feature quantiles in the history"
    return None


def eligible(ctx: Context) -> dict[str, np.ndarray]:
    """Every row."""
    return {"MULTIVARIATE_OUTLIER": np.ones(len(ctx.frame), bool)}


def detect(ctx: Context) -> pd.DataFrame:
    """``MULTIVARIATE_OUTLIER`` on rows beyond the history's extreme tail."""
    f = ctx.frame
    s = tail_score(features(f, ctx.baselines), ctx.baselines.tails)
    ctx.frame["mv_score"] = s
    hit = s > ctx.baselines.tail_limit
    d = f[hit]
    return flags(
        "multivariate",
        "MULTIVARIATE_OUTLIER",
        d["row"].to_numpy(),
        np.full(len(d), 0.5),
        {
            "tail_score": np.round(s[hit], 1),
            "limit": np.full(len(d), round(ctx.baselines.tail_limit, 1)),
        },
        [key("sku", d["sku"])],
    )
