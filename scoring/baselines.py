"""Statistics learned from history: per SKU, location, user and feature.

All robust (medians and MADs, not means on contaminated data) and computed with group-bys
over the whole history frame. Applied to new events by lookup, so a fitted baseline scores
rows it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

DAY = 86_400
MAD_SCALE = 1.4826


@dataclass
class Baselines:
    """What the scorer learned from the history log.

    Attributes:
        qty: per (sku, type, source location type): median and robust scale (MAD) of
            log(1 + eaches), and row count.
        qty_sku: the same per (sku, type), for sources the SKU never used in history.
        qty_type: the same per type, the fallback for unseen SKUs.
        qty_seen: per (sku, type, eaches): rows of that size in history.
        pick_rate: per sku: typical pick lines per day (median over days, mean for slow movers).
        each_rate: per sku: eaches picked per day.
        user_window: per user: start hour of the 9-hour window holding most of their work.
        user_rows: per user: rows in history.
        adj_user: per user: negative write-offs per 1,000 of their rows.
        pick_faces: per "sku@location": picks seen there in history.
        type_use: per "sku@location type": transfers into that type in history.
        type_use_total: per sku: transfers with a destination in history.
        bin_level: per "sku@location": median balance the bin held in history.
        tails: per multivariate feature: history quantiles (scoring.detectors.multivariate).
        tail_limit: multivariate tail score above which a row is flagged.
        neg_grace_s: how long a negative balance may last before it is news (twice the
            upper quartile of sub-hour negative spells in history, 10 min to 2 h).
        split_gap_s: how long after an ASN's first receipt its later parts arrive (95th
            percentile over ASNs received in parts; 0 when history shows no split delivery).
        days: length of the history in days.
        end_t: last history timestamp (epoch seconds).
    """

    qty: pd.DataFrame = field(default_factory=pd.DataFrame)
    qty_sku: pd.DataFrame = field(default_factory=pd.DataFrame)
    qty_type: pd.DataFrame = field(default_factory=pd.DataFrame)
    qty_seen: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    pick_rate: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    each_rate: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    user_window: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    user_rows: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    adj_user: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    type_use: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    type_use_total: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    bin_level: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    pick_faces: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    tails: dict[str, np.ndarray] = field(default_factory=dict)
    tail_limit: float = np.inf
    neg_grace_s: float = 900.0
    split_gap_s: float = 0.0
    days: float = 1.0
    end_t: int = 0


def fit_baselines(frame: pd.DataFrame) -> Baselines:
    """Fit every baseline on a prepared history frame.

    Args:
        frame: prepared transactions (scoring.frame.prepare) of the history.

    Returns:
        The fitted baselines.
    """
    b = Baselines()
    if len(frame) == 0:
        return b
    t = frame["t"].to_numpy()
    b.end_t = int(t.max())
    b.days = max(1.0, (t.max() - t.min()) / DAY)
    ok = frame["eaches"].notna() & (frame["type"] != "CYCLE_COUNT")
    le = np.log1p(frame.loc[ok, "eaches"].abs())
    keys = [frame.loc[ok, "sku"], frame.loc[ok, "type"], frame.loc[ok, "loc_type"].fillna("")]
    b.qty = _robust_scale(le, keys)
    b.qty_sku = _robust_scale(le, keys[:2])
    b.qty_seen = frame.loc[ok].groupby(["sku", "type", "eaches"]).size().astype("float64")
    tmed = le.groupby(frame.loc[ok, "type"]).median()
    tdev = (le - frame.loc[ok, "type"].map(tmed)).abs()
    b.qty_type = pd.DataFrame(
        {"med": tmed, "mad": tdev.groupby(frame.loc[ok, "type"]).median() * MAD_SCALE}
    )
    picks = frame[frame["type"] == "PICK"]
    day = picks["t"] // DAY
    n_days = int(b.days) + 1
    daily = picks.groupby([picks["sku"], day]).size()
    wide = daily.unstack(fill_value=0)
    mat = wide.to_numpy(dtype="float64")
    mat = np.concatenate([mat, np.zeros((len(mat), max(0, n_days - mat.shape[1])))], axis=1)
    med_daily = pd.Series(np.median(mat, axis=1), index=wide.index)
    mean_daily = daily.groupby(level=0).sum() / n_days
    b.pick_rate = np.maximum(med_daily, mean_daily.where(med_daily < 2, 0.0))
    b.each_rate = picks.groupby("sku")["eaches"].sum() / n_days
    level = frame[frame["bal_after"].notna()] if "bal_after" in frame else frame.iloc[:0]
    b.bin_level = (
        level.groupby(level["sku"] + "@" + level["location"])["bal_after"].median()
        if len(level)
        else pd.Series(dtype="float64")
    )
    tr = frame[frame["type"].isin(["PUTAWAY", "MOVE"]) & frame["to_location"].notna()]
    if "dest_type" in tr:
        b.type_use = (tr["sku"] + "@" + tr["dest_type"].fillna("")).value_counts().astype("float64")
        b.type_use_total = tr["sku"].value_counts().astype("float64")
    b.pick_faces = (picks["sku"] + "@" + picks["location"]).value_counts().astype("float64")
    hour = (frame["t"] % DAY) // 3600
    users = frame["user_id"].fillna("?")
    by_hour = pd.crosstab(users, hour)
    hist = by_hour.reindex(columns=range(24), fill_value=0).to_numpy()
    circ = np.concatenate([hist, hist[:, :8]], axis=1)
    windows = np.stack([circ[:, h : h + 9].sum(axis=1) for h in range(24)], axis=1)
    b.user_window = pd.Series(windows.argmax(axis=1).astype("float64"), index=by_hour.index)
    b.user_rows = users.value_counts().astype("float64")
    if "neg_for_s" in frame:
        starts = (frame["bal_before"] >= 0) & (frame["bal_after"] < 0)
        spells = frame.loc[starts, "neg_for_s"]
        # the short spells are confirmation latency; grace is twice their upper quartile
        spells = spells[np.isfinite(spells) & (spells < 3600)]
        if len(spells) >= 5:
            b.neg_grace_s = float(np.clip(2 * spells.quantile(0.75), 600, 7200))
    b.split_gap_s = split_gap(frame)
    neg = writeoff_mask(frame)
    b.adj_user = (
        (users[neg].value_counts() / b.user_rows * 1000).reindex(b.user_rows.index).fillna(0.0)
    )
    return b


def _robust_scale(le: pd.Series, keys: list[pd.Series]) -> pd.DataFrame:
    """Median, MAD (normal-scaled) and count of ``le`` per group of ``keys`` (one grouping)."""
    g = le.groupby(keys)
    med = g.median()
    ids = g.ngroup().to_numpy(dtype="float64")  # NaN where a key is missing
    known = ~np.isnan(ids)
    ids = ids[known].astype(np.int64)
    dev = np.abs(le.to_numpy()[known] - med.to_numpy()[ids])
    mad = pd.Series(dev).groupby(ids).median().to_numpy() * MAD_SCALE
    return pd.DataFrame({"med": med, "mad": mad, "n": g.size()})


def split_gap(frame: pd.DataFrame) -> float:
    """95th percentile of first-to-last receipt time of ASNs received in parts (0 if none)."""
    rec = frame[(frame["type"] == "RECEIPT") & frame["ref"].notna()]
    if rec.empty:
        return 0.0
    g = rec["t"].groupby([rec["ref"], rec["sku"]])
    span = (g.max() - g.min())[g.size() > 1]
    return float(span.quantile(0.95)) if len(span) else 0.0


def writeoff_mask(frame: pd.DataFrame) -> np.ndarray:
    """Negative adjustments that are neither count corrections nor quarantine disposals."""
    corr = frame["reason_code"].fillna("").str.upper().str.contains("COUNT")
    disposal = frame["loc_type"].isin(["QUARANTINE", "RETURNS"])
    return ((frame["type"] == "ADJUSTMENT") & (frame["qty"] < 0) & ~corr & ~disposal).to_numpy()


def off_hours(frame: pd.DataFrame, baselines: Baselines, min_rows: int = 40) -> np.ndarray:
    """Whether each row lies outside its user's usual 9-hour window (False when unknown)."""
    start = frame["user_id"].map(baselines.user_window).to_numpy(dtype="float64")
    rows = frame["user_id"].map(baselines.user_rows).fillna(0).to_numpy()
    hour = ((frame["t"] % DAY) / 3600).to_numpy()
    into = (hour - start) % 24
    return (rows >= min_rows) & np.isfinite(start) & (into >= 9.5) & (into <= 23.5)
