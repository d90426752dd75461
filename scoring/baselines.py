"""Statistics learned from history: per SKU, location, user and feature.

All robust (medians and MADs, not means on contaminated data) and computed with group-bys
over the whole history frame. Applied to new events by lookup, so a fitted baseline scores
rows it never saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from scoring.balances import unknown_stock_share

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
        weight_noise: the site's weighing noise: robust sigma of log(measured / expected)
            over the weighed rows (0 when nothing was weighed).
        asn_per_line: of the ASN lines received in several parts whose receipts settle
            one way only, the share that compare each receipt with its own line's
            ``expected_qty`` (one line per pallet) rather than summing the parts against a
            repeated total (NaN when the history shows neither).
        repeated_line_refs: refs inside which one identical line repeats (same type,
            SKU, quantity, location and time under another id).
        repeated_line_share: those refs as a share of the refs with several lines.
        unknown_stock: share of the history's outbound rows that take from bins with no
            recorded stock (:func:`scoring.balances.unknown_stock_share`; NaN when the
            history frame carries no balances).
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
    weight_noise: float = 0.0
    asn_per_line: float = np.nan
    repeated_line_refs: int = 0
    repeated_line_share: float = 0.0
    unknown_stock: float = np.nan
    days: float = 1.0
    end_t: int = 0


def fit_baselines(frame: pd.DataFrame, params: Any = None) -> Baselines:
    """Fit every baseline on a prepared history frame.

    Args:
        frame: prepared transactions (scoring.frame.prepare) of the history.
        params: the scorer's params (``neg_grace_min_s``, ``neg_grace_max_s``); defaults
            when None.

    Returns:
        The fitted baselines.
    """
    b = Baselines()
    if len(frame) == 0:
        return b
    t = frame["t"].to_numpy()
    b.end_t = int(t.max())
    if "pair_known" in frame:
        b.unknown_stock = unknown_stock_share(frame)
    b.days = max(1.0, (t.max() - t.min()) / DAY)
    ok = frame["eaches"].notna() & (frame["type"] != "CYCLE_COUNT")
    le = np.log1p(frame.loc[ok, "eaches"].abs())
    keys = [frame.loc[ok, "sku"], frame.loc[ok, "type"], frame.loc[ok, "loc_type"].fillna("")]
    b.qty = _robust_scale(le, keys)
    b.qty_sku = _robust_scale(le, keys[:2])
    b.qty_seen = frame.loc[ok].groupby(["sku", "type", "eaches"]).size().astype("float64")
    tmed = le.groupby(frame.loc[ok, "type"]).median()
    # astype: over an empty selection (a log of counts only) map keeps the text dtype
    tdev = (le - frame.loc[ok, "type"].map(tmed).astype("float64")).abs()
    b.qty_type = pd.DataFrame(
        {"med": tmed, "mad": tdev.groupby(frame.loc[ok, "type"]).median() * MAD_SCALE}
    )
    picks = frame[frame["type"] == "PICK"]
    day = picks["t"] // DAY
    n_days = int(b.days) + 1
    daily = picks.groupby([picks["sku"], day]).size()
    # over the SKU's active life (from its first pick): a SKU launched late in the history
    # did not sell zero lines a day before it existed
    day0, day1 = int(t.min() // DAY), int(t.max() // DAY)
    wide = daily.unstack(fill_value=0).reindex(columns=range(day0, day1 + 1), fill_value=0)
    mat = wide.to_numpy(dtype="float64")
    first = np.argmax(mat > 0, axis=1)
    active = np.arange(mat.shape[1])[None, :] >= first[:, None]
    med_daily = pd.Series(np.nanmedian(np.where(active, mat, np.nan), axis=1), index=wide.index)
    mean_daily = pd.Series(mat.sum(axis=1) / active.sum(axis=1), index=wide.index)
    b.pick_rate = cast(pd.Series, np.maximum(med_daily, mean_daily.where(med_daily < 2, 0.0)))
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
            lo = params["neg_grace_min_s"] if params is not None else 600.0
            hi = params["neg_grace_max_s"] if params is not None else 7200.0
            b.neg_grace_s = float(np.clip(2 * spells.quantile(0.75), lo, hi))
    b.split_gap_s = split_gap(frame)
    b.weight_noise = weight_noise(frame)
    b.asn_per_line = asn_per_line(frame)
    b.repeated_line_refs, b.repeated_line_share = repeated_lines(frame)
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


def weight_noise(frame: pd.DataFrame) -> float:
    """Robust sigma (MAD x 1.4826) of log(measured / expected weight) over weighed rows."""
    if "weight_kg" not in frame or "unit_weight" not in frame:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.log(frame["weight_kg"].to_numpy(dtype="float64")
                    / (frame["eaches"].to_numpy(dtype="float64")
                       * frame["unit_weight"].to_numpy(dtype="float64")))
    lr = lr[np.isfinite(lr)]
    if len(lr) < 20:
        return 0.0
    return float(np.median(np.abs(lr - np.median(lr))) * MAD_SCALE)


def asn_lines(rec: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Receipts of one ASN and SKU as one group, and how each convention reads them.

    Returns the groups and, per receipt, its group's position. Columns per group: ``n``
    receipts, ``received`` (their sum), ``pooled`` (received - the largest expected_qty:
    parts summed against the line total, repeated on each part or counting down as the
    open balance), ``per_line`` (received - the sum of expected_qty: each receipt against
    its own line, one line per pallet) and ``whole_lines`` (for every expected_qty among
    the receipts, those receipts add up to a whole number of such lines: pallets of equal
    lines, some received in parts).
    """
    day = (rec["t"] // DAY).astype(str)
    ref = np.where(rec["ref"].notna(), rec["ref"].fillna(""), "day" + day)
    gid, _ = pd.factorize(ref + "|" + rec["sku"].fillna(""))
    q = rec["qty"].to_numpy(dtype="float64")
    e = rec["expected_qty"].to_numpy(dtype="float64")
    g = pd.DataFrame({"gid": gid, "q": q, "e": e})
    by = g.groupby("gid")
    out = pd.DataFrame({"n": by.size(), "received": by["q"].sum()})
    out["pooled"] = out["received"] - by["e"].max()
    out["per_line"] = out["received"] - by["e"].sum()
    sub = g.groupby(["gid", "e"]).agg(n=("q", "size"), got=("q", "sum")).reset_index()
    lines: pd.Series = (sub["got"] / np.maximum(sub["e"], 1e-9)).round().clip(1, sub["n"])
    sub["ok"] = (sub["got"] - lines * sub["e"]).abs() < 0.5
    out["whole_lines"] = sub.groupby("gid")["ok"].all()
    return out, gid


def asn_per_line(frame: pd.DataFrame) -> float:
    """Share of multi-receipt ASN lines that settle per line rather than pooled (NaN: none)."""
    rec = frame[(frame["type"] == "RECEIPT") & frame["expected_qty"].notna()
                & frame["qty"].notna()]
    if rec.empty:
        return np.nan
    lines, _ = asn_lines(rec)
    multi = lines[lines["n"] > 1]
    per_line = (multi["per_line"].abs() < 0.5) & (multi["pooled"].abs() >= 0.5)
    pooled = (multi["pooled"].abs() < 0.5) & (multi["per_line"].abs() >= 0.5)
    settled = int(per_line.sum() + pooled.sum())
    return float(per_line.sum() / settled) if settled else np.nan


REPEAT_TYPES = ("PICK", "RETURN")
"""Order lines: whether the feed repeats lines as its habit is learned from these."""
FEED_TYPES = (*REPEAT_TYPES, "ADJUSTMENT")
"""Lines the same feed posts under a document ref (an export's stock postings come with
the orders); receipts are not among them (an ASN lists one line per pallet, alike)."""
REPEAT_PAYLOAD = ["t", "type", "sku", "qty", "location", "ref"]


def repeated_line(frame: pd.DataFrame, types: tuple[str, ...] = REPEAT_TYPES) -> np.ndarray:
    """Lines of ``types`` repeating an earlier line of the same ref (type, SKU, qty, bin, time)."""
    ok = frame["type"].isin(types).to_numpy() & frame["ref"].notna().to_numpy()
    out = np.zeros(len(frame), bool)
    if ok.any():
        sub = frame.loc[ok, REPEAT_PAYLOAD].astype(object)
        out[ok] = sub.duplicated(keep="first").to_numpy()
    return out


def repeated_lines(frame: pd.DataFrame) -> tuple[int, float]:
    """Refs with a repeated line, and their share of the refs with several order lines."""
    rep = repeated_line(frame)
    if not rep.any():
        return 0, 0.0
    orders = frame[frame["type"].isin(REPEAT_TYPES) & frame["ref"].notna()]
    multi = int((orders.groupby("ref").size() > 1).sum())
    refs = int(frame.loc[rep, "ref"].nunique())
    return refs, refs / max(multi, 1)


def feed_repeats(baselines: Baselines, params: Any) -> bool:
    """Whether the history shows the order feed repeating lines inside orders as its habit.

    At least ``repeated_line_min_refs`` refs, and ``repeated_line_ref_share`` of the refs
    with several order lines, hold a repeated line.
    """
    return bool(baselines.repeated_line_refs >= params["repeated_line_min_refs"]
                and baselines.repeated_line_share >= params["repeated_line_ref_share"])


def writeoff_mask(frame: pd.DataFrame) -> np.ndarray:
    """Negative adjustments that are neither count corrections nor quarantine disposals."""
    corr = frame["reason_code"].fillna("").str.upper().str.contains("COUNT")
    disposal = frame["loc_type"].isin(["QUARANTINE", "RETURNS"])
    return ((frame["type"] == "ADJUSTMENT") & (frame["qty"] < 0) & ~corr & ~disposal).to_numpy()


def off_hours(frame: pd.DataFrame, baselines: Baselines, min_rows: float = 40) -> np.ndarray:
    """Whether each row lies outside its user's usual 9-hour window (False when unknown)."""
    start = frame["user_id"].map(baselines.user_window).to_numpy(dtype="float64")
    rows = frame["user_id"].map(baselines.user_rows).fillna(0).to_numpy()
    hour = ((frame["t"] % DAY) / 3600).to_numpy()
    into = (hour - start) % 24
    return (rows >= min_rows) & np.isfinite(start) & (into >= 9.5) & (into <= 23.5)
