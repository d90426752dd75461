"""Numeric signals of an incident: the offline classifier's input, one dict per case.

``gather_context`` fills ``CaseFile.features`` with :func:`case_features` (build one
:class:`FeatureContext` per dataset or store snapshot and reuse it across incidents); the
training script calls exactly the same function, so what the model learned is what it sees.

Every signal is domain-meaningful and scale-free (ratios, signs, shares, pack multiples,
flags), never an id, so it transfers to warehouses the model never saw. Missing data
(no weights, no coordinates, no ASN quantities) yields 0 plus a ``has_*`` indicator rather
than an error. The signals follow the contract's root-cause signatures (CONTRACT.md §2).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from scoring.types import Incident
from warehouse.dataset import Dataset
from warehouse.ledger import with_balances
from warehouse.lookalikes import lookalike_index

FEATURE_NAMES: tuple[str, ...] = (
    "log_txns", "n_skus", "n_locations", "n_users", "log_span_h",
    "frac_receipt", "frac_putaway", "frac_pick", "frac_move", "frac_adjustment",
    "frac_count", "frac_return",
    "dup_payload", "double_scan", "pick_without_stock", "neg_balance",
    "has_weight", "weight_off", "weight_log_ratio", "weight_fits_lookalike",
    "weight_ratio_steady", "weight_ratio_pack",
    "has_counts", "count_short", "count_over", "count_rel_var", "var_pack_multiple",
    "same_sign_locations", "mirror_same_sku", "mirror_lookalike",
    "has_asn", "receipt_diff", "receipt_rel_diff", "receipt_pack_multiple",
    "neg_adjustments", "small_neg_adjustments", "adj_top_user_share", "off_shift",
    "high_value", "outside_cage", "away_from_home", "over_weight_limit",
    "qty_ratio_median", "pick_volume_ratio",
)
_PAYLOAD = ["ts", "type", "sku", "qty", "location", "to_location", "user_id"]
_HISTORY_COLUMNS = ["txn_id", "ts", "type", "qty", "eaches", "location", "device_id",
                    "weight_kg", "user_id", "var"]
_DOUBLE_SCAN_S = 120.0
_SHIFT_HOURS = (6, 22)
_HIGH_VALUE_COST = 40.0


class FeatureContext:
    """Per-dataset indexes the features need: balances, payload duplicates, look-alikes.

    Args:
        data: the dataset (or a store snapshot in the same shape).
        ledger: ``warehouse.ledger.with_balances(data.transactions)`` when the caller has it
            already (the tools' view does); computed here otherwise.
    """

    def __init__(self, data: Dataset, *, ledger: pd.DataFrame | None = None) -> None:
        tx = ledger if ledger is not None else with_balances(data.transactions)
        tx = tx.copy()
        tx["dup_payload"] = tx.duplicated(subset=_PAYLOAD, keep=False)
        self.tx = tx.set_index("txn_id", drop=False)
        # per-SKU history with only the columns the features read: filters copy less
        slim = tx[["sku", *_HISTORY_COLUMNS]]
        self.by_sku = dict(iter(slim.groupby("sku", sort=False)))
        self.items = data.items.set_index("sku", drop=False)
        self.locations = data.locations.set_index("location_id", drop=False)
        # plain dicts: one lookup per row costs microseconds instead of a pandas .loc
        self._items = {r["sku"]: r for r in data.items.to_dict("records")}
        self._locations = {r["location_id"]: r for r in data.locations.to_dict("records")}
        self.lookalikes = lookalike_index(data.items)
        med = tx.groupby(["sku", "type"])["eaches"].median()
        self.median_qty = med.to_dict()
        picks = tx[tx["type"] == "PICK"]
        days = max(1.0, (tx["ts"].max() - tx["ts"].min()).total_seconds() / 86400) if len(tx) else 1
        self.picks_per_day = (picks.groupby("sku")["eaches"].sum() / days).to_dict()

    def item(self, sku: str) -> dict[str, Any] | None:
        """The item master row of ``sku`` (column -> value), if known."""
        return self._items.get(sku)

    def location(self, loc: str) -> dict[str, Any] | None:
        """The location row of ``loc`` (column -> value), if known."""
        return self._locations.get(loc)


def _frac(mask: pd.Series) -> float:
    return float(mask.mean()) if len(mask) else 0.0


def _num(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _near_multiple(x: float, base: float, tol: float = 0.02) -> bool:
    if base <= 1 or abs(x) < base * (1 - tol):
        return False
    r = abs(x) / base
    return abs(r - round(r)) <= tol * max(1.0, r)


def case_features(incident: Incident, ctx: FeatureContext) -> dict[str, float]:
    """The signals of one incident, keyed by :data:`FEATURE_NAMES` (all present, all finite).

    Args:
        incident: the scorer's incident (its txn_ids select the rows).
        ctx: indexes of the dataset the incident was scored on.

    Returns:
        Feature name -> value.
    """
    f = dict.fromkeys(FEATURE_NAMES, 0.0)
    ids = [t for t in incident.txn_ids if t in ctx.tx.index]
    rows = ctx.tx.loc[ids]
    rows = rows[~rows.index.duplicated()]
    if rows.empty:
        return f
    types = rows["type"]
    f["log_txns"] = math.log1p(len(rows))
    f["n_skus"] = float(rows["sku"].nunique())
    f["n_locations"] = float(pd.concat([rows["location"], rows["to_location"]]).dropna().nunique())
    f["n_users"] = float(rows["user_id"].nunique())
    f["log_span_h"] = math.log1p((rows["ts"].max() - rows["ts"].min()).total_seconds() / 3600)
    for name in ("receipt", "putaway", "pick", "move", "adjustment", "count", "return"):
        kind = "CYCLE_COUNT" if name == "count" else name.upper()
        f[f"frac_{name}"] = _frac(types == kind)
    f["dup_payload"] = float(rows["dup_payload"].any())
    f["neg_balance"] = float((rows["bal_after"] < 0).any())
    picks = rows[types == "PICK"]
    f["pick_without_stock"] = float((picks["bal_before"] <= 0).any())
    _scan_features(f, rows, ctx)
    _weight_features(f, rows, ctx)
    _count_features(f, rows, ctx)
    _receipt_features(f, rows, ctx)
    _adjustment_features(f, rows, ctx)
    _placement_features(f, rows, ctx)
    return {k: float(np.clip(v, -50, 50)) if math.isfinite(v) else 0.0 for k, v in f.items()}


def _scan_features(f: dict[str, float], rows: pd.DataFrame, ctx: FeatureContext) -> None:
    """Two scans of one SKU, type and quantity from one device seconds apart."""
    cols = ["txn_id", "device_id", "type", "qty", "ts"]
    scans = rows[rows["device_id"].notna() & rows["qty"].notna()]
    for sku, grp in scans.groupby("sku"):
        log = ctx.by_sku[sku]
        log = log[log["device_id"].isin(grp["device_id"]) & log["type"].isin(grp["type"])]
        pairs = grp[cols].merge(log[cols], on=["device_id", "type", "qty"], suffixes=("", "_o"))
        pairs = pairs[pairs["txn_id"] != pairs["txn_id_o"]]
        gap = (pairs["ts_o"] - pairs["ts"]).abs().dt.total_seconds()
        if ((gap > 0) & (gap <= _DOUBLE_SCAN_S)).any():
            f["double_scan"] = 1.0
            return


def _weight_features(f: dict[str, float], rows: pd.DataFrame, ctx: FeatureContext) -> None:
    """Measured weight against the master's unit weight, the SKU's history and look-alikes."""
    weighed = rows[rows["weight_kg"].notna() & (rows["eaches"] > 0)]
    ratios, fits = [], 0.0
    for row in weighed.itertuples():
        item = ctx.item(row.sku)
        unit = _num(item["unit_weight_kg"]) if item is not None else None
        if not unit:
            continue
        ratio = row.weight_kg / (row.eaches * unit)
        ratios.append(ratio)
        if abs(ratio - 1) > 0.08:
            for other in ctx.lookalikes.get(row.sku, []):
                o = ctx.item(other)
                ou = _num(o["unit_weight_kg"]) if o is not None else None
                if ou and abs(row.weight_kg / (row.eaches * ou) - 1) < 0.04:
                    fits = 1.0
    if not ratios:
        return
    f["has_weight"] = 1.0
    worst = max(ratios, key=lambda r: abs(math.log(max(r, 1e-6))))
    f["weight_log_ratio"] = math.log2(max(worst, 1e-6))
    f["weight_off"] = float(abs(worst - 1) > 0.08)
    f["weight_fits_lookalike"] = fits
    big = max(worst, 1 / max(worst, 1e-6))
    f["weight_ratio_pack"] = float(abs(worst - 1) > 0.08 and abs(big - round(big)) < 0.05)
    # Is the same ratio seen across the SKU's history (many users, days)? -> master data
    sku = rows.loc[weighed.index[0], "sku"] if len(weighed) else None
    item = ctx.item(sku) if sku else None
    unit = _num(item["unit_weight_kg"]) if item is not None else None
    if sku and unit:
        hist = ctx.by_sku[sku]
        hist = hist[hist["weight_kg"].notna() & (hist["eaches"] > 0)]
        r = hist["weight_kg"] / (hist["eaches"] * unit)
        steady = (r - worst).abs() < 0.05 * worst
        f["weight_ratio_steady"] = float(steady.sum() >= 3 and hist.loc[steady, "user_id"].nunique()
                                         >= 2 and abs(worst - 1) > 0.08)


def _count_features(f: dict[str, float], rows: pd.DataFrame, ctx: FeatureContext) -> None:
    counts = rows[rows["type"] == "CYCLE_COUNT"]
    var = counts["var"].dropna()
    if var.empty:
        return
    f["has_counts"] = 1.0
    f["count_short"] = _frac(var < 0)
    f["count_over"] = _frac(var > 0)
    exp = counts.loc[var.index, "expected_qty"].abs().clip(lower=1)
    f["count_rel_var"] = float(np.clip((var / exp).mean(), -5, 5))
    packs = [_num(ctx.item(s)["case_qty"]) if ctx.item(s) is not None else None
             for s in counts.loc[var.index, "sku"]]
    f["var_pack_multiple"] = _frac(pd.Series(
        [bool(p) and v != 0 and _near_multiple(v, p) for v, p in zip(var, packs, strict=True)]))
    nonzero = counts.loc[var[var != 0].index]
    # same SKU, opposite variances in two bins; or two SKUs swapped in one place
    for _, grp in nonzero.groupby("sku"):
        if (grp["var"] > 0).any() and (grp["var"] < 0).any() and grp["location"].nunique() > 1:
            f["mirror_same_sku"] = 1.0
    if nonzero["sku"].nunique() > 1 and (nonzero["var"] > 0).any() and (nonzero["var"] < 0).any():
        skus = list(nonzero["sku"].unique())
        if any(o in ctx.lookalikes.get(s, []) for s in skus for o in skus):
            f["mirror_lookalike"] = 1.0
    # same-sign variances for this SKU in many bins across the whole log -> master data
    for sku in nonzero["sku"].unique():
        hist = ctx.by_sku[sku]
        hv = hist[hist["var"].notna() & (hist["var"] != 0)]
        sign = np.sign(nonzero.loc[nonzero["sku"] == sku, "var"].sum())
        same = hv[np.sign(hv["var"]) == sign]
        f["same_sign_locations"] = max(f["same_sign_locations"],
                                       math.log1p(same["location"].nunique()))


def _receipt_features(f: dict[str, float], rows: pd.DataFrame, ctx: FeatureContext) -> None:
    rec = rows[(rows["type"] == "RECEIPT") & rows["expected_qty"].notna()]
    if rec.empty:
        return
    f["has_asn"] = 1.0
    diff = rec["qty"] - rec["expected_qty"]
    f["receipt_diff"] = float((diff != 0).any())
    worst = diff.abs().idxmax() if len(diff) else None
    if worst is not None:
        f["receipt_rel_diff"] = float(diff[worst] / max(abs(rec.loc[worst, "expected_qty"]), 1))
        item = ctx.item(rec.loc[worst, "sku"])
        pack = _num(item["case_qty"]) if item is not None else None
        uom_ea = str(rec.loc[worst, "uom"]) != "CS"
        f["receipt_pack_multiple"] = float(bool(pack) and uom_ea
                                           and _near_multiple(diff[worst], pack or 0))


def _adjustment_features(f: dict[str, float], rows: pd.DataFrame, ctx: FeatureContext) -> None:
    adj = rows[rows["type"] == "ADJUSTMENT"]
    neg = adj[adj["qty"] < 0]
    f["neg_adjustments"] = math.log1p(len(neg))
    f["small_neg_adjustments"] = _frac(neg["qty"].abs() <= 3) if len(neg) else 0.0
    if len(adj):
        f["adj_top_user_share"] = float(adj["user_id"].value_counts(normalize=True).iloc[0])
    hours = rows["ts"].dt.hour
    f["off_shift"] = _frac((hours < _SHIFT_HOURS[0]) | (hours >= _SHIFT_HOURS[1]))


def _placement_features(f: dict[str, float], rows: pd.DataFrame, ctx: FeatureContext) -> None:
    """Where stock went against where it belongs: home, cage, weight limit; volumes."""
    moved = rows[rows["type"].isin(["PUTAWAY", "MOVE"]) & rows["to_location"].notna()]
    away = outside = over = 0
    for row in rows.itertuples():
        item = ctx.item(row.sku)
        if item is None:
            continue
        cost = _num(item["unit_cost"])
        if cost is not None and cost >= _HIGH_VALUE_COST:
            f["high_value"] = 1.0
    for row in moved.itertuples():
        item, dest = ctx.item(row.sku), ctx.location(row.to_location)
        if item is None:
            continue
        home = item["home_location"]
        dtype = str(dest["type"]) if dest is not None else ""
        if isinstance(home, str) and home and row.to_location != home and dtype == "PICK":
            away += 1
        cost = _num(item["unit_cost"])
        if cost is not None and cost >= _HIGH_VALUE_COST and dtype and dtype != "CAGE":
            outside += 1
        limit = _num(dest["max_weight_kg"]) if dest is not None else None
        unit = _num(item["unit_weight_kg"])
        if limit and unit and row.dest_after * unit > limit:
            over += 1
    if len(moved):
        f["away_from_home"] = away / len(moved)
        f["outside_cage"] = outside / len(moved)
        f["over_weight_limit"] = over / len(moved)
    ratios = [row.eaches / m for row in rows.itertuples()
              if (m := ctx.median_qty.get((row.sku, row.type))) and m > 0 and row.eaches > 0]
    f["qty_ratio_median"] = math.log2(max(ratios)) if ratios else 0.0
    picks = rows[rows["type"] == "PICK"]
    if len(picks):
        span_d = max(1.0, (picks["ts"].max() - picks["ts"].min()).total_seconds() / 86400)
        sku = picks["sku"].mode().iloc[0]
        base = ctx.picks_per_day.get(sku, 0.0)
        window = picks.loc[picks["sku"] == sku, "eaches"].sum() / span_d
        f["pick_volume_ratio"] = math.log2((window + 1) / (base + 1))
