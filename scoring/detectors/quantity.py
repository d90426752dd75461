"""Quantity and velocity outliers against the SKU's own history (robust statistics)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from scoring.baselines import DAY, feed_repeats, repeated_line
from scoring.detectors.base import Context, flags, key, strength, trailing_count

MOVING_TYPES = ("PICK", "MOVE", "PUTAWAY", "RECEIPT", "RETURN")


def needs(ctx: Context) -> str | None:
    """Quantities must be known and the history must hold a baseline."""
    if ctx.baselines.qty.empty:
        return "no quantity baseline in the history"
    return None


def eligible(ctx: Context) -> dict[str, np.ndarray]:
    """Rows each rule considers: moving rows, transfers into pick faces, picks."""
    f = ctx.frame
    into = f["type"].isin(["PUTAWAY", "MOVE"]).to_numpy() & (f["dest_type"] == "PICK").to_numpy()
    return {
        "QTY_OUTLIER": (f["type"].isin(MOVING_TYPES) & (f["eaches"] > 0)).to_numpy(),
        "BIN_OVERFILL": into,
        "VELOCITY_SPIKE": (f["type"] == "PICK").to_numpy(),
    }


def detect(ctx: Context) -> pd.DataFrame:
    """``QTY_OUTLIER``, ``BIN_OVERFILL`` and ``VELOCITY_SPIKE``.

    Eaches far above the SKU's usual size for the type and source, a pick face left far
    above its usual level, pick lines in the trailing 24 h far above the daily rate.
    """
    f = ctx.frame
    p = ctx.params
    out = []
    mov = f[f["type"].isin(MOVING_TYPES) & (f["eaches"] > 0)]
    if len(mov):
        stats = _qty_stats(ctx, mov)
        med = stats["med"]
        mad = np.maximum(np.where(np.isnan(stats["mad"]), 0.0, stats["mad"]), p["qty_mad_floor"])
        n = np.where(np.isnan(stats["n"]), 0.0, stats["n"])
        le = np.log1p(mov["eaches"].to_numpy())
        z = (le - med) / mad
        ratio = mov["eaches"].to_numpy() / np.maximum(np.expm1(med), 1.0)
        hit = (n >= p["qty_min_history"]) & (z >= p["qty_z"]) & (ratio >= p["qty_ratio"])
        hit[hit] = _recurring(ctx, mov[hit]) < p["qty_recur"]
        rows = mov["row"].to_numpy()[hit]
        out.append(
            flags(
                "quantity",
                "QTY_OUTLIER",
                rows,
                strength(z[hit], p["qty_z"], 3 * p["qty_z"]),
                {
                    "type": mov["type"].to_numpy()[hit],
                    "eaches": mov["eaches"].to_numpy()[hit],
                    "typical": np.round(np.expm1(med[hit]), 1),
                    "ratio": np.round(ratio[hit], 2),
                    "z": np.round(z[hit], 1),
                },
                [key("sku", f["sku"].to_numpy()[rows])],
            )
        )
    out.append(_overfill(ctx))
    picks = f[f["type"] == "PICK"]
    if feed_repeats(ctx.baselines, p):  # a line the feed repeated was picked once
        picks = picks[~repeated_line(f)[picks["row"].to_numpy()]]
    if len(picks) and len(ctx.baselines.pick_rate):
        skus = picks["sku"].to_numpy()
        count = trailing_count(skus, picks["t"].to_numpy(), DAY - 1)
        rate = pd.Series(skus).map(ctx.baselines.pick_rate).fillna(0).to_numpy()
        hit, ratio = _spikes(count, rate, p)
        if hit.any():  # the recent daily rate can only raise the usual one, clearing spikes
            rate = np.fmax(rate, _recent_rate(picks))
            hit, ratio = _spikes(count, rate, p)
        rows = picks["row"].to_numpy()[hit]
        out.append(
            flags(
                "quantity",
                "VELOCITY_SPIKE",
                rows,
                strength(ratio[hit], p["velocity_ratio"], 3 * p["velocity_ratio"]),
                {
                    "lines_24h": count[hit],
                    "usual_per_day": np.round(rate[hit], 1),
                    "ratio": np.round(ratio[hit], 1),
                },
                [key("sku", skus[hit])],
            )
        )
    return pd.concat(out, ignore_index=True)


def _qty_stats(ctx: Context, mov: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per moving row: median, MAD and count of log eaches for its SKU, type and source kind.

    Where the history holds no row of that kind of source, the SKU's rows of that type.
    """
    idx = pd.MultiIndex.from_arrays([mov["sku"], mov["type"], mov["loc_type"].fillna("")])
    base = ctx.baselines.qty.reindex(idx)
    out = {c: base[c].to_numpy(dtype="float64") for c in ("med", "mad", "n")}
    missing = np.isnan(out["n"])
    if missing.any():
        fallback = ctx.baselines.qty_sku.reindex(
            pd.MultiIndex.from_arrays([mov["sku"], mov["type"]])
        )
        for c in out:
            out[c] = np.where(missing, fallback[c].to_numpy(dtype="float64"), out[c])
    return out


def _spikes(count: np.ndarray, rate: np.ndarray, p: Any) -> tuple[np.ndarray, np.ndarray]:
    """Which trailing 24 h pick counts spike over the usual daily ``rate``, and the ratio."""
    exp = np.maximum(rate, p["velocity_min_rate"])
    # significant even against an ordinary promotion's lift
    lifted = exp * p["velocity_ordinary_lift"]
    z = (count - lifted) / np.sqrt(lifted)
    ratio = count / exp
    hit = (ratio >= p["velocity_ratio"]) & (count >= p["velocity_min_lines"])
    return hit & (z >= p["velocity_z"]), ratio


def _recurring(ctx: Context, rows: pd.DataFrame) -> np.ndarray:
    """Per row: history rows of its SKU and type moving at least half its eaches.

    A size the SKU keeps moving (a full pallet it is always put away in) is its normal.
    """
    seen = ctx.baselines.qty_seen
    if rows.empty or seen.empty:
        return np.zeros(len(rows))
    s = seen.rename("n").reset_index()
    q = rows[["sku", "type", "eaches"]].reset_index(drop=True).reset_index(names="i")
    m = q.merge(s, on=["sku", "type"], suffixes=("", "_h"))
    m = m[m["eaches_h"] >= m["eaches"] / 2]
    return m.groupby("i")["n"].sum().reindex(range(len(q)), fill_value=0.0).to_numpy()


def _overfill(ctx: Context) -> pd.DataFrame:
    """``BIN_OVERFILL``: a transfer leaves a pick face holding many times its usual level."""
    f = ctx.frame
    p = ctx.params
    # pick faces cycle between a minimum and a maximum; reserve slots fill and drain
    into = f["type"].isin(["PUTAWAY", "MOVE"]).to_numpy() & (f["dest_type"] == "PICK").to_numpy()
    if not into.any():  # no transfer into a pick face (most of an event's context)
        return flags("quantity", "BIN_OVERFILL", [], [], {}, [])
    pair = (f["sku"].fillna("") + "@" + f["to_location"].fillna("")).to_numpy()
    typical = pd.Series(pair).map(ctx.baselines.bin_level).to_numpy(dtype="float64")
    typical = np.fmax(typical, 2 * f["case_qty"].fillna(1).to_numpy())
    ratio = f["dest_after"].to_numpy() / np.maximum(typical, 1.0)
    with np.errstate(invalid="ignore"):
        hit = (
            into
            & (ratio >= p["overfill_ratio"])
            & (f["dest_after"].to_numpy() >= p["overfill_min_eaches"])
        )
    d = f[hit]
    return flags(
        "quantity",
        "BIN_OVERFILL",
        d["row"].to_numpy(),
        strength(ratio[hit], p["overfill_ratio"], 4 * p["overfill_ratio"]),
        {
            "to_location": d["to_location"].to_numpy(),
            "balance_after": d["dest_after"].to_numpy(),
            "typical": np.round(typical[hit], 1),
            "ratio": np.round(ratio[hit], 1),
        },
        [key("sku", d["sku"]), key("bin", d["sku"] + "@" + d["to_location"])],
    )


def _recent_rate(picks: pd.DataFrame, days: int = 14) -> np.ndarray:
    """Per pick: median pick lines per day of its SKU over the ``days`` days before its day.

    Where the frame does not reach that far back (its first ``days`` days), the median over
    its first ``days`` days: a log that opens in a peak season is compared with that season,
    not with the quiet months after it. NaN when the frame is shorter than ``days``.
    """
    day = (picks["t"].to_numpy() // DAY).astype(np.int64)
    skus = picks["sku"].to_numpy(dtype=object)
    daily = pd.Series(1, index=pd.MultiIndex.from_arrays([skus, day])).groupby(level=[0, 1]).sum()
    wide = daily.unstack(fill_value=0).reindex(columns=range(day.min(), day.max() + 1),
                                                fill_value=0)
    trailing = wide.T.rolling(days, min_periods=days).median().shift(1).T
    if wide.shape[1] >= days:
        opening = wide.iloc[:, :days].median(axis=1)
        trailing.iloc[:, :days] = np.repeat(opening.to_numpy()[:, None], days, axis=1)
    return trailing.stack(future_stack=True).reindex(
        pd.MultiIndex.from_arrays([skus, day])).to_numpy(dtype="float64")
