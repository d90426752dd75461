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
from collections import Counter
from typing import Any, cast

import numpy as np
import pandas as pd

from agents.params import (
    DEFAULT_PARAMS,
    OPEN_STORAGE,
    TRANSFERS,
    PolicyParams,
    high_value_skus,
    placement,
)
from scoring.types import Incident
from tools.view import WarehouseView, first_positions
from warehouse.contract import SAME_PAYLOAD
from warehouse.dataset import Dataset
from warehouse.ledger import with_balances
from warehouse.lookalikes import lookalike_index
from warehouse.rescans import rescan_flags

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
    "qty_ratio_median", "pick_volume_ratio", "face_relocated", "replenishes_home",
)
_TEXT_COLUMNS = ("type", "sku", "location", "to_location", "user_id", "device_id", "uom")
_NUMBER_COLUMNS = ("qty", "eaches", "weight_kg", "expected_qty", "bal_before", "bal_after",
                   "dest_after", "var")
_SHIFT_HOURS = (6, 22)


class FeatureContext:
    """Per-dataset indexes the features need, built once so one incident costs microseconds.

    The ledger's columns are kept as plain arrays (an incident's rows are a handful of
    positions into them); what a feature needs from the whole log (payload duplicates, double
    scans, a SKU's weighed history, its count variances by sign, median quantities, pick
    rates) is computed here in one vectorized pass.

    Args:
        data: the dataset (or a store snapshot in the same shape).
        ledger: ``warehouse.ledger.with_balances(data.transactions)`` when the caller has it
            already (the tools' view does); computed here otherwise.
        params: thresholds shared with the policy (weight fit, high value).
        lookalikes: ``warehouse.lookalikes.lookalike_index(data.items)`` when the caller has
            it already (the tools' view does); computed here otherwise.
    """

    def __init__(self, data: Dataset, *, ledger: pd.DataFrame | None = None,
                 params: PolicyParams = DEFAULT_PARAMS,
                 lookalikes: dict[str, list[str]] | None = None) -> None:
        self.params = params
        self.high_value = high_value_skus(data.items, data.locations, params)
        tx = (ledger if ledger is not None else with_balances(data.transactions)).reset_index(
            drop=True)
        ts = tx["ts"].dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ns]")
        ts_ns = ts.to_numpy().view("int64")
        self.col: dict[str, np.ndarray] = {
            c: tx[c].to_numpy(dtype=object) for c in _TEXT_COLUMNS if c in tx}
        self.col |= {c: tx[c].to_numpy(dtype=float) for c in _NUMBER_COLUMNS}
        self.col["ts_s"] = ts_ns / 1e9
        self.col["hour"] = ts.dt.hour.to_numpy()
        self.col["dup_payload"] = tx.duplicated(subset=list(SAME_PAYLOAD), keep=False).to_numpy()
        after, before = rescan_flags(tx)
        self.col["double_scan"] = after | before
        # a log without opening stock runs negative everywhere: then a negative balance
        # describes the site, not the case
        negative = (tx["bal_after"] < 0).to_numpy()
        self.negative_is_normal = bool(len(tx)) and float(negative.mean()) > \
            params.site_normal_share
        self.pos: dict[str, int] = first_positions(tx["txn_id"].to_numpy(dtype=object))
        self._items: dict[str, dict[str, Any]] = {
            r["sku"]: r for r in cast("list[dict[str, Any]]", data.items.to_dict("records"))}
        self._locations: dict[str, dict[str, Any]] = {
            r["location_id"]: r
            for r in cast("list[dict[str, Any]]", data.locations.to_dict("records"))}
        self.lookalikes = lookalikes if lookalikes is not None else lookalike_index(data.items)
        self.median_qty = tx.groupby(["sku", "type"])["eaches"].median().to_dict()
        picks = tx[tx["type"] == "PICK"]
        days = max(1.0, (tx["ts"].max() - tx["ts"].min()).total_seconds() / 86400) if len(tx) else 1
        self.picks_per_day = (picks.groupby("sku")["eaches"].sum() / days).to_dict()
        last_ts = picks.groupby(["sku", "location"])["ts"].max()
        self.last_pick_s: dict[tuple[str, str], float] = dict(zip(
            last_ts.index, last_ts.dt.tz_convert("UTC").dt.tz_localize(None)
            .astype("datetime64[ns]").to_numpy().view("int64") / 1e9, strict=True))
        # a SKU's weighed history: weight per each and who handled it
        weighed = tx[tx["weight_kg"].notna() & (tx["eaches"] > 0)]
        per_each = (weighed["weight_kg"] / weighed["eaches"]).to_numpy()
        users = weighed["user_id"].to_numpy(dtype=object)
        at = cast("dict[str, np.ndarray]", weighed.groupby("sku", sort=False).indices)
        self.weighed: dict[str, tuple[np.ndarray, np.ndarray]] = {
            sku: (per_each[i], users[i]) for sku, i in at.items()}
        # locations with a non-zero count variance of each sign, per SKU
        var = tx[tx["var"].notna() & (tx["var"] != 0)]
        self.var_locations = cast("dict[tuple[str, float], int]", var.groupby(
            [var["sku"], np.sign(var["var"])])["location"].nunique().to_dict())

    @classmethod
    def of(cls, view: WarehouseView, params: PolicyParams = DEFAULT_PARAMS) -> FeatureContext:
        """The context over a tools' view's dataset, reusing its ledger and look-alikes."""
        return cls(view.dataset, ledger=view.ledger, params=params, lookalikes=view.lookalikes)

    def item(self, sku: str) -> dict[str, Any] | None:
        """The item master row of ``sku`` (column -> value), if known."""
        return self._items.get(sku)

    def location(self, loc: str) -> dict[str, Any] | None:
        """The location row of ``loc`` (column -> value), if known."""
        return self._locations.get(loc)

    def location_type(self, loc: str) -> str | None:
        """The type of location ``loc`` (PICK, DOCK, ...), if known."""
        row = self._locations.get(loc)
        return str(row["type"]) if row is not None and _present(row.get("type")) else None

    def rows(self, txn_ids: list[str]) -> dict[str, np.ndarray]:
        """The ledger columns at ``txn_ids`` (known ids, each once, in the given order)."""
        at = np.fromiter(dict.fromkeys(p for t in txn_ids if (p := self.pos.get(t)) is not None),
                         dtype=np.int64)
        return {c: v[at] for c, v in self.col.items()}


Rows = dict[str, np.ndarray]
"""An incident's ledger rows as column arrays (see :meth:`FeatureContext.rows`)."""


def _frac(mask: np.ndarray) -> float:
    return float(mask.mean()) if len(mask) else 0.0


def _num(value: object) -> float | None:
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(out) else out


def _present(value: object) -> bool:
    return value is not None and value is not pd.NA and not (
        isinstance(value, float) and math.isnan(value))


def _distinct(values: np.ndarray) -> set[Any]:
    return {v for v in values if _present(v)}


def _mode(values: np.ndarray) -> object:
    """The most frequent value (the smallest among ties, as pandas' ``mode`` has it)."""
    counts = Counter(v for v in values if _present(v))
    if not counts:
        return None
    top = max(counts.values())
    return min(v for v, c in counts.items() if c == top)


def _field(record: dict[str, Any] | None, name: str) -> float | None:
    return _num(record.get(name)) if record is not None else None


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
    rows = ctx.rows(incident.txn_ids)
    types = rows["type"]
    if not len(types):
        return f
    f["log_txns"] = math.log1p(len(types))
    f["n_skus"] = float(len(_distinct(rows["sku"])))
    f["n_locations"] = float(len(_distinct(rows["location"]) | _distinct(rows["to_location"])))
    f["n_users"] = float(len(_distinct(rows["user_id"])))
    f["log_span_h"] = math.log1p((rows["ts_s"].max() - rows["ts_s"].min()) / 3600)
    for name in ("receipt", "putaway", "pick", "move", "adjustment", "count", "return"):
        kind = "CYCLE_COUNT" if name == "count" else name.upper()
        f[f"frac_{name}"] = _frac(types == kind)
    f["dup_payload"] = float(rows["dup_payload"].any())
    f["double_scan"] = float(rows["double_scan"].any())
    if not ctx.negative_is_normal:
        f["neg_balance"] = float((rows["bal_after"] < 0).any())
        f["pick_without_stock"] = float((rows["bal_before"][types == "PICK"] <= 0).any())
    _weight_features(f, rows, ctx)
    _count_features(f, rows, ctx)
    _receipt_features(f, rows, ctx)
    _adjustment_features(f, rows)
    _placement_features(f, rows, ctx)
    return {k: float(np.clip(v, -50, 50)) if math.isfinite(v) else 0.0 for k, v in f.items()}


def _weight_features(f: dict[str, float], rows: Rows, ctx: FeatureContext) -> None:
    """Measured weight against the master's unit weight, the SKU's history and look-alikes."""
    weighed = ~np.isnan(rows["weight_kg"]) & (rows["eaches"] > 0)
    skus, kgs, eaches = rows["sku"][weighed], rows["weight_kg"][weighed], rows["eaches"][weighed]
    off, fit = ctx.params.weight_off, ctx.params.weight_fit
    ratios, fits = [], 0.0
    units: dict[str, tuple[float | None, list[float]]] = {}  # a SKU's and its look-alikes'
    for sku, kg, ea in zip(skus, kgs, eaches, strict=True):
        if sku not in units:
            units[sku] = (_field(ctx.item(sku), "unit_weight_kg"), [
                ou for other in ctx.lookalikes.get(sku, [])
                if (ou := _field(ctx.item(other), "unit_weight_kg"))])
        unit, others = units[sku]
        if not unit:
            continue
        ratio = kg / (ea * unit)
        ratios.append(ratio)
        if abs(ratio - 1) > off and any(abs(kg / (ea * ou) - 1) < fit for ou in others):
            fits = 1.0
    if not ratios:
        return
    f["has_weight"] = 1.0
    worst = max(ratios, key=lambda r: abs(math.log(max(r, 1e-6))))
    f["weight_log_ratio"] = math.log2(max(worst, 1e-6))
    f["weight_off"] = float(abs(worst - 1) > off)
    f["weight_fits_lookalike"] = fits
    big = max(worst, 1 / max(worst, 1e-6))
    f["weight_ratio_pack"] = float(abs(worst - 1) > off
                                   and abs(big - round(big)) < ctx.params.pack_fit)
    # Is the same ratio seen across the SKU's history (many users, days)? -> master data
    sku = skus[0]
    unit = _field(ctx.item(sku), "unit_weight_kg")
    if unit and sku in ctx.weighed:
        per_each, users = ctx.weighed[sku]
        steady = np.abs(per_each / unit - worst) < 0.05 * worst
        f["weight_ratio_steady"] = float(steady.sum() >= 3 and len(_distinct(users[steady]))
                                         >= 2 and abs(worst - 1) > off)


def _count_features(f: dict[str, float], rows: Rows, ctx: FeatureContext) -> None:
    counted = (rows["type"] == "CYCLE_COUNT") & ~np.isnan(rows["var"])
    if not counted.any():
        return
    var, skus, locs = rows["var"][counted], rows["sku"][counted], rows["location"][counted]
    f["has_counts"] = 1.0
    f["count_short"] = _frac(var < 0)
    f["count_over"] = _frac(var > 0)
    exp = np.clip(np.abs(rows["qty"][counted] - var), 1, None)  # a blind count's: the balance
    f["count_rel_var"] = float(np.clip((var / exp).mean(), -5, 5))
    packs = [_field(ctx.item(s), "case_qty") for s in skus]
    f["var_pack_multiple"] = _frac(np.array(
        [bool(p and v != 0 and _near_multiple(v, p)) for v, p in zip(var, packs, strict=True)]))
    nz = var != 0
    var, skus, locs = var[nz], skus[nz], locs[nz]
    # same SKU, opposite variances in two bins; or two SKUs swapped in one place
    distinct = _distinct(skus)
    for sku in distinct:
        mine = skus == sku
        if (var[mine] > 0).any() and (var[mine] < 0).any() and len(_distinct(locs[mine])) > 1:
            f["mirror_same_sku"] = 1.0
        # same-sign variances for this SKU in many bins across the whole log -> master data
        sign = float(np.sign(var[mine].sum()))
        f["same_sign_locations"] = max(f["same_sign_locations"],
                                       math.log1p(ctx.var_locations.get((sku, sign), 0)))
    if len(distinct) > 1 and (var > 0).any() and (var < 0).any():
        if any(o in ctx.lookalikes.get(s, []) for s in distinct for o in distinct):
            f["mirror_lookalike"] = 1.0


def _receipt_features(f: dict[str, float], rows: Rows, ctx: FeatureContext) -> None:
    rec = (rows["type"] == "RECEIPT") & ~np.isnan(rows["expected_qty"])
    if not rec.any():
        return
    f["has_asn"] = 1.0
    expected = rows["expected_qty"][rec]
    diff = rows["qty"][rec] - expected
    f["receipt_diff"] = float((diff != 0).any())
    if np.isnan(diff).all():
        return
    worst = int(np.nanargmax(np.abs(diff)))
    f["receipt_rel_diff"] = float(diff[worst] / max(abs(expected[worst]), 1))
    pack = _field(ctx.item(rows["sku"][rec][worst]), "case_qty")
    uom_ea = str(rows["uom"][rec][worst]) != "CS"
    f["receipt_pack_multiple"] = float(bool(pack) and uom_ea
                                       and _near_multiple(diff[worst], pack or 0))


def _adjustment_features(f: dict[str, float], rows: Rows) -> None:
    adj = rows["type"] == "ADJUSTMENT"
    qty = rows["qty"][adj]
    neg = qty[qty < 0]
    f["neg_adjustments"] = math.log1p(len(neg))
    f["small_neg_adjustments"] = _frac(np.abs(neg) <= 3)
    users = Counter(u for u in rows["user_id"][adj] if _present(u))
    if users:
        f["adj_top_user_share"] = max(users.values()) / sum(users.values())
    hours = rows["hour"]
    f["off_shift"] = _frac((hours < _SHIFT_HOURS[0]) | (hours >= _SHIFT_HOURS[1]))


def _placement_features(f: dict[str, float], rows: Rows, ctx: FeatureContext) -> None:
    """Where stock went against where it belongs: home, cage, weight limit; volumes."""
    types, skus = rows["type"], rows["sku"]
    f["high_value"] = float(any(s in ctx.high_value for s in _distinct(skus)))
    places = [placement(k, loc, to, ctx.location_type) for k, loc, to in zip(
        types, rows["location"], rows["to_location"], strict=True)]
    moved = np.array([p is not None for p in places], dtype=bool)
    after_at = np.where(np.isin(types, TRANSFERS), rows["dest_after"], rows["bal_after"])
    away = outside = over = 0
    for sku, to, after in zip(skus[moved], [p for p in places if p is not None],
                              after_at[moved], strict=True):
        item, dest = ctx.item(sku), ctx.location(to)
        if item is None:
            continue
        home = item.get("home_location")
        dtype = str(dest["type"]) if dest is not None else ""
        if isinstance(home, str) and home and to != home and dtype == "PICK":
            away += 1
        if sku in ctx.high_value and dtype in OPEN_STORAGE:
            outside += 1
        limit, unit = _field(dest, "max_weight_kg"), _num(item.get("unit_weight_kg"))
        if limit and unit and after * unit > limit:
            over += 1
    if moved.any():
        n = int(moved.sum())
        f["away_from_home"] = away / n
        f["outside_cage"] = outside / n
        f["over_weight_limit"] = over / n
    _move_features(f, rows, ctx)
    ratios = [e / m for s, t, e in zip(skus, types, rows["eaches"], strict=True)
              if (m := ctx.median_qty.get((s, t))) and m > 0 and e > 0]
    f["qty_ratio_median"] = math.log2(max(ratios)) if ratios else 0.0
    picked = types == "PICK"
    if picked.any():
        ts = rows["ts_s"][picked]
        span_d = max(1.0, (ts.max() - ts.min()) / 86400)
        sku = _mode(skus[picked])
        base = ctx.picks_per_day.get(sku, 0.0)
        window = np.nansum(rows["eaches"][picked][skus[picked] == sku]) / span_d
        f["pick_volume_ratio"] = math.log2((window + 1) / (base + 1))


def _move_features(f: dict[str, float], rows: Rows, ctx: FeatureContext) -> None:
    """What the incident's moves do: relocate a face, or refill the SKU's home from stock.

    ``face_relocated``: share of face-to-face moves that empty their face, the SKU picked
    at the destination afterwards (a planned relocation; after a wrong-face slip it is
    picked where it was). ``replenishes_home``: share of moves from reserve or bulk storage into the
    SKU's home face (a replenishment, however large).
    """
    moves = rows["type"] == "MOVE"
    if not moves.any():
        return
    src = np.array([ctx.location_type(str(x)) for x in rows["location"][moves]], dtype=object)
    dst = np.array([ctx.location_type(str(x)) for x in rows["to_location"][moves]], dtype=object)
    skus, to = rows["sku"][moves], rows["to_location"][moves]
    homes = np.array([(ctx.item(s) or {}).get("home_location") for s in skus], dtype=object)
    f["replenishes_home"] = _frac(np.isin(src, ["RESERVE", "BULK"]) & (to == homes))
    faces = (src == "PICK") & (dst == "PICK")
    if not faces.any():
        return
    picked_after = np.array([ctx.last_pick_s.get((s, d), -np.inf) > t for s, d, t in zip(
        skus[faces], to[faces], rows["ts_s"][moves][faces], strict=True)], dtype=bool)
    f["face_relocated"] = _frac((rows["bal_after"][moves][faces] <= 0) & picked_after)
