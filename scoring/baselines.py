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
        qty: per (sku, type): median and robust scale of log(1 + eaches), and row count.
        qty_type: the same per type, the fallback for unseen SKUs.
        pick_rate: per sku: typical pick lines per day (median over days, mean for slow movers).
        each_rate: per sku: eaches picked per day.
        user_window: per user: start hour of the 9-hour window holding most of their work.
        user_rows: per user: rows in history.
        adj_user: per user: negative write-offs per 1,000 of their rows.
        pick_faces: per "sku@location": picks seen there in history.
        tails: per multivariate feature: history quantiles (scoring.detectors.multivariate).
        tail_limit: multivariate tail score above which a row is flagged.
        neg_grace_s: how long a negative balance may last before it is news (3x the median
            healed negative spell in history, 10 min to 2 h).
        days: length of the history in days.
        end_t: last history timestamp (epoch seconds).
    """

    qty: pd.DataFrame = field(default_factory=pd.DataFrame)
    qty_type: pd.DataFrame = field(default_factory=pd.DataFrame)
    pick_rate: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    each_rate: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    user_window: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    user_rows: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    adj_user: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    pick_faces: pd.Series = field(default_factory=lambda: pd.Series(dtype="float64"))
    tails: dict[str, np.ndarray] = field(default_factory=dict)
    tail_limit: float = np.inf
    neg_grace_s: float = 900.0
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
    keys = [frame.loc[ok, "sku"], frame.loc[ok, "type"]]
    med = le.groupby(keys).median()
    dev = (le - med.reindex(pd.MultiIndex.from_arrays(keys)).to_numpy()).abs()
    mad = dev.groupby(keys).median() * MAD_SCALE
    b.qty = pd.DataFrame({"med": med, "mad": mad, "n": le.groupby(keys).size()})
    tmed = le.groupby(frame.loc[ok, "type"]).median()
    tdev = (le - frame.loc[ok, "type"].map(tmed)).abs()
    b.qty_type = pd.DataFrame({"med": tmed, "mad": tdev.groupby(frame.loc[ok, "type"]).median()
                               * MAD_SCALE})
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
    b.pick_faces = (picks["sku"] + "@" + picks["location"]).value_counts().astype("float64")
    hour = (frame["t"] % DAY) // 3600
    users = frame["user_id"].fillna("?")
    hist = pd.crosstab(users, hour).reindex(columns=range(24), fill_value=0).to_numpy()
    circ = np.concatenate([hist, hist[:, :8]], axis=1)
    windows = np.stack([circ[:, h:h + 9].sum(axis=1) for h in range(24)], axis=1)
    idx = pd.crosstab(users, hour).index
    b.user_window = pd.Series(windows.argmax(axis=1).astype("float64"), index=idx)
    b.user_rows = users.value_counts().astype("float64")
    if "neg_for_s" in frame:
        starts = (frame["bal_before"] >= 0) & (frame["bal_after"] < 0)
        spells = frame.loc[starts, "neg_for_s"]
        spells = spells[np.isfinite(spells)]
        if len(spells) >= 5:
            b.neg_grace_s = float(np.clip(3 * spells.median(), 600, 7200))
    neg = writeoff_mask(frame)
    b.adj_user = (users[neg].value_counts() / b.user_rows * 1000).reindex(b.user_rows.index) \
        .fillna(0.0)
    return b


def writeoff_mask(frame: pd.DataFrame) -> np.ndarray:
    """Negative adjustments that are not a clerk's count correction."""
    corr = frame["reason_code"].fillna("").str.upper().str.contains("COUNT")
    return ((frame["type"] == "ADJUSTMENT") & (frame["qty"] < 0) & ~corr).to_numpy()


def off_hours(frame: pd.DataFrame, baselines: Baselines, min_rows: int = 40) -> np.ndarray:
    """Whether each row lies outside its user's usual 9-hour window (False when unknown)."""
    start = frame["user_id"].map(baselines.user_window).to_numpy(dtype="float64")
    rows = frame["user_id"].map(baselines.user_rows).fillna(0).to_numpy()
    hour = ((frame["t"] % DAY) / 3600).to_numpy()
    into = (hour - start) % 24
    return (rows >= min_rows) & np.isfinite(start) & (into >= 9.5) & (into <= 23.5)
