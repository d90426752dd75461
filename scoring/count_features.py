"""What the log says about each (sku, location) record: the cycle-count plan's signals.

One row per (sku, location) the log has ever moved or counted, computed from the dataset and
the scorer's flags only (nothing a simulation knows beyond the log). Columns are named for
what they measure; :data:`FEATURES` lists those the model reads, in its order.

- flags: the scorer's flags on the record (all, and since its last count), per detector,
  their strongest score, flags at the location and on the SKU elsewhere;
- counts: the last count's variance (against ``expected_qty``, or on a blind count against
  the balance the log gives at that moment) and how much of it no adjustment has corrected since,
  days since the last count, and past count accuracy at the location and for the SKU
  (smoothed toward the site's rate);
- balances: whether the balance went below zero since the last count, ends below zero;
  picks short (a pick whose ``expected_qty`` it did not meet, where a site sends one);
- handling: movements and eaches moved since the last count, picks per day;
- neighbours: a look-alike SKU held in a neighbouring bin, flags at the neighbours;
- value: unit cost and the value of the balance, both relative to the site's median unit
  cost (a yen site is not 150 times riskier); the location's type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoring.types import Flag
from warehouse.contract import SOURCE_SIGN, TYPES_WITH_DESTINATION
from warehouse.dataset import Dataset
from warehouse.lookalikes import lookalike_index

DETECTOR_GROUPS = ("quantity", "counts", "weight", "devices", "stock", "receiving",
                   "adjustments", "locations", "sync", "multivariate")
"""Scorer detectors whose flags are counted separately (their names)."""
LOCATION_TYPES = ("PICK", "RESERVE", "BULK", "CAGE")
"""Storage types with their own indicator; the rest (dock, staging, ...) share one."""


@dataclass(frozen=True)
class FeatureParams:
    """How the signals are measured.

    Attributes:
        accuracy_prior_counts: pseudo-counts pulling a location's or SKU's count accuracy
            toward the site's rate (a bin counted once is not 100% wrong).
        neighbours: nearest bins (same zone) that count as neighbours.
        never_counted_days: days since the last count of a record never counted (the log's
            span is used when it is longer).
    """

    accuracy_prior_counts: float = 3.0
    neighbours: int = 4
    never_counted_days: float = 90.0


FEATURES = (
    "flags_log", "open_flags_log", "max_flag_score", "open_max_flag_score",
    *(f"flags_{d}" for d in DETECTOR_GROUPS),
    "location_flags_log", "sku_flags_elsewhere_log", "neighbour_flags_log",
    "unresolved_var_log", "last_var_log", "counted", "days_since_count_log",
    "location_error_rate", "sku_error_rate",
    "went_negative", "ends_negative", "short_picks_log",
    "moves_since_count_log", "eaches_since_count_log", "picks_per_day_log",
    "lookalike_neighbour",
    "unit_cost_rel_log", "balance_value_rel_log", "balance_log",
    *(f"type_{t.lower()}" for t in LOCATION_TYPES), "type_other",
)

_SIGN = {t.value: float(s) for t, s in SOURCE_SIGN.items()}
_WITH_DEST = {t.value for t in TYPES_WITH_DESTINATION}


def count_features(data: Dataset, flags: Sequence[Flag],
                   params: FeatureParams | None = None) -> pd.DataFrame:
    """The signals of every (sku, location) record in ``data``.

    Args:
        data: the site (items, locations, transactions with ``eaches``).
        flags: the scorer's flags on the same log.
        params: how the signals are measured.

    Returns:
        One row per (sku, location): ``sku``, ``location``, ``unit_cost``, ``balance``,
        ``last_count_ts``, the raw figures the reasons quote (``flags``, ``open_flags``,
        ``unresolved_var``, ``days_since_count``, ...) and every column of :data:`FEATURES`.
    """
    p = params or FeatureParams()
    legs = _legs(data.transactions)
    if legs.empty:
        return pd.DataFrame(columns=["sku", "location", *FEATURES])
    end = legs["t"].max()
    span_days = max(1.0, (end - legs["t"].min()) / 86400)
    legs["after"] = legs.groupby(["sku", "location"], sort=False)["d"].cumsum()
    blind = (legs["type"] == "CYCLE_COUNT").to_numpy() & np.isnan(legs["var"].to_numpy())
    legs.loc[blind, "var"] = legs.loc[blind, "qty"] - legs.loc[blind, "after"]
    key = ["sku", "location"]
    pairs = legs.groupby(key, sort=True).agg(balance=("after", "last"),
                                             first_t=("t", "min")).reset_index()

    counts = legs[legs["type"] == "CYCLE_COUNT"]
    last = counts.groupby(key).tail(1)[[*key, "t", "var"]].rename(
        columns={"t": "last_count_t", "var": "last_var"})
    pairs = pairs.merge(last, on=key, how="left")
    legs = legs.merge(last[[*key, "last_count_t"]], on=key, how="left")
    since = legs[legs["last_count_t"].isna() | (legs["t"] > legs["last_count_t"])]
    adj = since[since["type"] == "ADJUSTMENT"].groupby(key)["d"].sum().rename("adj_since")
    moved = since[since["d"] != 0].groupby(key).agg(
        moves_since_count=("d", "size"), eaches_since_count=("d", lambda s: s.abs().sum()),
        min_since=("after", "min"))
    picks = legs[legs["type"] == "PICK"].groupby(key).size().rename("picks")
    short = legs[(legs["type"] == "PICK") & (legs["expected"] > legs["qty"])].groupby(
        key).size().rename("short_picks")
    pairs = (pairs.merge(adj, on=key, how="left").merge(moved, on=key, how="left")
             .merge(picks, on=key, how="left").merge(short, on=key, how="left"))
    for col in ("adj_since", "moves_since_count", "eaches_since_count", "picks", "short_picks"):
        pairs[col] = pairs[col].fillna(0.0)
    pairs["min_since"] = pairs["min_since"].fillna(pairs["balance"])
    counted = pairs["last_count_t"].notna()
    pairs["unresolved_var"] = np.where(counted, (pairs["last_var"].fillna(0)
                                                 - pairs["adj_since"]).abs(), 0.0)
    pairs["days_since_count"] = np.where(
        counted, (end - pairs["last_count_t"]) / 86400,
        max(p.never_counted_days, span_days))
    pairs["last_count_ts"] = pd.to_datetime(pairs["last_count_t"], unit="s", utc=True)

    _add_accuracy(pairs, counts, p)
    _add_flags(pairs, flags)
    _add_neighbours(pairs, data, p)
    cost = pd.to_numeric(data.items.drop_duplicates("sku", keep="last").set_index("sku")
                         .get("unit_cost", pd.Series(dtype=float)), errors="coerce")
    pairs["unit_cost"] = pairs["sku"].map(cost).fillna(0.0).astype(float)
    types = data.locations.drop_duplicates("location_id", keep="last").set_index(
        "location_id")["type"]
    pairs["location_type"] = pairs["location"].map(types).fillna("UNKNOWN").astype(str)

    out = pairs
    out["flags_log"] = np.log1p(out["flags"])
    out["open_flags_log"] = np.log1p(out["open_flags"])
    for d in DETECTOR_GROUPS:
        out[f"flags_{d}"] = np.log1p(out[f"flags_{d}"])
    out["location_flags_log"] = np.log1p(out["location_flags"])
    out["sku_flags_elsewhere_log"] = np.log1p(out["sku_flags_elsewhere"])
    out["neighbour_flags_log"] = np.log1p(out["neighbour_flags"])
    out["unresolved_var_log"] = np.log1p(out["unresolved_var"])
    out["last_var_log"] = np.log1p(out["last_var"].abs().fillna(0.0))
    out["counted"] = counted.astype(float)
    out["days_since_count_log"] = np.log1p(out["days_since_count"])
    out["went_negative"] = (out["min_since"] < 0).astype(float)
    out["ends_negative"] = (out["balance"] < 0).astype(float)
    out["short_picks_log"] = np.log1p(out["short_picks"])
    out["moves_since_count_log"] = np.log1p(out["moves_since_count"])
    out["eaches_since_count_log"] = np.log1p(out["eaches_since_count"])
    out["picks_per_day_log"] = np.log1p(out["picks"] / span_days)
    priced = out["unit_cost"][out["unit_cost"] > 0]
    median_cost = float(priced.median()) if len(priced) else 1.0
    out["unit_cost_rel_log"] = np.log1p(out["unit_cost"] / median_cost)
    out["balance_value_rel_log"] = np.log1p(out["balance"].abs() * out["unit_cost"] / median_cost)
    out["balance_log"] = np.log1p(out["balance"].abs())
    for t in LOCATION_TYPES:
        out[f"type_{t.lower()}"] = (out["location_type"] == t).astype(float)
    out["type_other"] = (~out["location_type"].isin(LOCATION_TYPES)).astype(float)
    return out.reset_index(drop=True)


def _legs(tx: pd.DataFrame) -> pd.DataFrame:
    """Every effect of the log on a (sku, location) record, in posting order, with counts.

    Columns: sku, location, t (epoch seconds), type, d (signed eaches), qty, expected, var.
    """
    if tx.empty:
        return pd.DataFrame(columns=["sku", "location", "t", "type", "d", "qty", "expected",
                                     "var"])
    t = epoch_seconds(tx["ts"])
    qty = pd.to_numeric(tx["qty"], errors="coerce").to_numpy(dtype=float)
    eaches = pd.to_numeric(tx["eaches"], errors="coerce").to_numpy(dtype=float) \
        if "eaches" in tx else qty
    eaches = np.where(np.isnan(eaches), qty, eaches)
    types = tx["type"].astype(str).to_numpy()
    sign = np.array([_SIGN.get(x, 0.0) for x in types])
    expected = pd.to_numeric(tx["expected_qty"], errors="coerce").to_numpy(dtype=float)
    var = np.where(types == "CYCLE_COUNT", qty - expected, np.nan)
    order = np.arange(len(tx))
    src = pd.DataFrame({"sku": tx["sku"].astype(str).to_numpy(),
                        "location": tx["location"].astype(str).to_numpy(), "t": t,
                        "type": types, "d": sign * eaches, "qty": qty, "expected": expected,
                        "var": var, "i": order * 2})
    dest = np.isin(types, list(_WITH_DEST)) & tx["to_location"].notna().to_numpy()
    dst = pd.DataFrame({"sku": src["sku"].to_numpy()[dest],
                        "location": tx["to_location"].astype(str).to_numpy()[dest],
                        "t": t[dest], "type": types[dest], "d": eaches[dest], "qty": qty[dest],
                        "expected": np.nan, "var": np.nan, "i": order[dest] * 2 + 1})
    legs = pd.concat([src, dst], ignore_index=True).sort_values("i", kind="stable")
    return legs.drop(columns="i").reset_index(drop=True)


def epoch_seconds(ts: pd.Series) -> np.ndarray:
    """Times as integer seconds since 1970 (whatever the datetime unit pandas holds)."""
    t = pd.to_datetime(ts, utc=True, format="ISO8601")
    return ((t - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(dtype=np.int64)


def _add_accuracy(pairs: pd.DataFrame, counts: pd.DataFrame, p: FeatureParams) -> None:
    """Smoothed share of counts with a variance, at the location and for the SKU."""
    wrong = counts["var"].fillna(0).abs() > 0
    site = float(wrong.mean()) if len(counts) else 0.0
    a = p.accuracy_prior_counts
    for col, by in (("location_error_rate", "location"), ("sku_error_rate", "sku")):
        g = pd.DataFrame({by: counts[by], "w": wrong}).groupby(by)["w"].agg(["sum", "size"])
        rate = (g["sum"] + a * site) / (g["size"] + a)
        pairs[col] = pairs[by].map(rate).fillna(site).astype(float)


def _add_flags(pairs: pd.DataFrame, flags: Sequence[Flag]) -> None:
    """Flags on the record (all and since its last count), per detector, nearby."""
    zero = ("flags", "open_flags", "max_flag_score", "open_max_flag_score", "location_flags",
            "sku_flags_elsewhere", *(f"flags_{d}" for d in DETECTOR_GROUPS))
    for col in zero:
        pairs[col] = 0.0
    pairs["flag_codes"] = ""
    if not flags:
        return
    f = pd.DataFrame({"sku": [x.sku for x in flags], "location": [x.location for x in flags],
                      "detector": [x.detector for x in flags], "code": [x.code for x in flags],
                      "score": [x.score for x in flags],
                      "t": epoch_seconds(pd.Series([x.ts for x in flags]))})
    f = f.dropna(subset=["sku", "location"])
    key = ["sku", "location"]
    f = f.merge(pairs[[*key, "last_count_t"]], on=key, how="inner")
    f["open"] = f["last_count_t"].isna() | (f["t"] > f["last_count_t"])
    g = f.groupby(key)
    agg = pd.DataFrame({
        "flags": g.size(), "max_flag_score": g["score"].max(),
        "open_flags": g["open"].sum(),
        "open_max_flag_score": f[f["open"]].groupby(key)["score"].max(),
        "flag_codes": g["code"].agg(lambda s: " ".join(dict.fromkeys(s))),
    })
    for d in DETECTOR_GROUPS:
        agg[f"flags_{d}"] = f[f["detector"] == d].groupby(key).size()
    agg = agg.reindex(pd.MultiIndex.from_frame(pairs[key]))
    for col in agg.columns:
        filled = agg[col].fillna("" if col == "flag_codes" else 0.0).to_numpy()
        pairs[col] = filled
    by_loc = f.groupby("location").size()
    by_sku = f.groupby("sku").size()
    pairs["location_flags"] = pairs["location"].map(by_loc).fillna(0.0) - pairs["flags"]
    pairs["sku_flags_elsewhere"] = pairs["sku"].map(by_sku).fillna(0.0) - pairs["flags"]


def _add_neighbours(pairs: pd.DataFrame, data: Dataset, p: FeatureParams) -> None:
    """Whether a neighbouring bin holds a look-alike of the SKU; flags at the neighbours."""
    near = neighbours(data.locations, p.neighbours)
    looks = lookalike_index(data.items) if len(data.items) else {}
    held = pairs[pairs["balance"] != 0].groupby("location")["sku"].agg(set)
    loc_flags = pairs.groupby("location")["flags"].sum()
    look_flag, nflags = [], []
    for sku, loc in zip(pairs["sku"], pairs["location"], strict=True):
        around = near.get(loc, ())
        alike = set(looks.get(sku, ()))
        look_flag.append(float(any(alike & held.get(n, set()) for n in around)))
        nflags.append(float(sum(loc_flags.get(n, 0.0) for n in around)))
    pairs["lookalike_neighbour"] = look_flag
    pairs["neighbour_flags"] = nflags


def neighbours(locations: pd.DataFrame, k: int) -> dict[str, tuple[str, ...]]:
    """Each location's ``k`` nearest in its zone: by floor coordinates, else by id order."""
    out: dict[str, tuple[str, ...]] = {}
    locs = locations.drop_duplicates("location_id", keep="last")
    for _zone, group in locs.groupby("zone", sort=False):
        ids = group["location_id"].astype(str).to_numpy()
        x = pd.to_numeric(group["x_m"], errors="coerce").to_numpy(dtype=float) \
            if "x_m" in group else np.full(len(ids), np.nan)
        y = pd.to_numeric(group["y_m"], errors="coerce").to_numpy(dtype=float) \
            if "y_m" in group else np.full(len(ids), np.nan)
        if np.isnan(x).any() or np.isnan(y).any():
            order = np.argsort(ids, kind="stable")
            ids = ids[order]
            for i, loc in enumerate(ids):
                lo, hi = max(0, i - k // 2), i + k // 2 + 1
                out[loc] = tuple(n for n in ids[lo:hi] if n != loc)
            continue
        dist = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
        np.fill_diagonal(dist, np.inf)
        nearest = np.argsort(dist, axis=1, kind="stable")[:, :k]
        for i, loc in enumerate(ids):
            out[loc] = tuple(ids[j] for j in nearest[i])
    return out
