"""Quantity and velocity outliers against the SKU's own history (robust statistics)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.baselines import DAY
from scoring.detectors.base import Context, flags, key, strength, trailing_count

MOVING_TYPES = ("PICK", "MOVE", "PUTAWAY", "RECEIPT", "RETURN")


def needs(ctx: Context) -> str | None:
    """Quantities must be known and the history must hold a baseline."""
    if ctx.baselines.qty.empty:
        return "no quantity baseline in the history"
    return None


def detect(ctx: Context) -> pd.DataFrame:
    """``QTY_OUTLIER`` (eaches far above the SKU's usual size for that type) and
    ``VELOCITY_SPIKE`` (pick lines in the trailing 24 h far above the SKU's daily rate).
    """
    f = ctx.frame
    p = ctx.params
    out = []
    mov = f[f["type"].isin(MOVING_TYPES) & (f["eaches"] > 0)]
    if len(mov):
        idx = pd.MultiIndex.from_arrays([mov["sku"], mov["type"]])
        base = ctx.baselines.qty.reindex(idx)
        med = base["med"].to_numpy()
        mad = np.maximum(base["mad"].fillna(0).to_numpy(), p["qty_mad_floor"])
        n = base["n"].fillna(0).to_numpy()
        le = np.log1p(mov["eaches"].to_numpy())
        z = (le - med) / mad
        ratio = mov["eaches"].to_numpy() / np.maximum(np.expm1(med), 1.0)
        hit = (n >= p["qty_min_history"]) & (z >= p["qty_z"]) & (ratio >= p["qty_ratio"])
        rows = mov["row"].to_numpy()[hit]
        out.append(flags("quantity", "QTY_OUTLIER", rows, strength(z[hit], p["qty_z"], 3 * p["qty_z"]),
                         {"type": mov["type"].to_numpy()[hit],
                          "eaches": mov["eaches"].to_numpy()[hit],
                          "typical": np.round(np.expm1(med[hit]), 1), "ratio": np.round(ratio[hit], 2),
                          "z": np.round(z[hit], 1)},
                         [key("sku", f["sku"].to_numpy()[rows])]))
    picks = f[f["type"] == "PICK"]
    if len(picks) and len(ctx.baselines.pick_rate):
        skus = picks["sku"].to_numpy()
        count = trailing_count(skus, picks["t"].to_numpy(), DAY - 1)
        rate = pd.Series(skus).map(ctx.baselines.pick_rate).fillna(0).to_numpy()
        exp = np.maximum(rate, 0.5)
        z = (count - exp) / np.sqrt(exp)
        ratio = count / exp
        hit = (ratio >= p["velocity_ratio"]) & (count >= p["velocity_min_lines"]) \
            & (z >= p["velocity_z"])
        rows = picks["row"].to_numpy()[hit]
        out.append(flags("quantity", "VELOCITY_SPIKE", rows,
                         strength(ratio[hit], p["velocity_ratio"], 3 * p["velocity_ratio"]),
                         {"lines_24h": count[hit], "usual_per_day": np.round(rate[hit], 1),
                          "ratio": np.round(ratio[hit], 1)},
                         [key("sku", skus[hit])]))
    return pd.concat(out, ignore_index=True) if out else flags("quantity", "", [], [], {}, [])
