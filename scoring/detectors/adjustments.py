"""Stock adjustments: where a site's staff record the exceptions they found.

- ``WRITE_OFF_PATTERN``: repeated negative adjustments of one item by one user, weighed by
  value, off-hours work and how the user compares with peers. Ordinary damage spread over
  many users and items stays quiet because nothing repeats.
- ``LARGE_ADJUSTMENT``: one adjustment (either sign) many times the item's typical
  movement (its median pick, else the site's).
- ``OFFSETTING_ADJUSTMENTS``: +N on one code and -N on another the same day, of a size
  the site's adjustments rarely take (the chance of a coincidental partner that day is
  below ``offset_chance``): stock booked to the wrong code and moved back, the mis-scan
  signature. Both rows are flagged and linked.
- ``NOTED_EXCEPTION``: an adjustment the size rules pass over whose own note names a cause
  to fix (a code mix-up, a wrong pack, a loss; :func:`scoring.notes.read_note`): the person
  who posted it found the exception, however small. A note that only explains (damage,
  found, another channel), doubts, addresses the system, or is the item's catalogue
  description (exports fill an empty note with it) flags nothing. Its strength is low until
  ``python -m scoring.calibrate`` fits it: it adds a case, not certainty to a flagged one.

A flag on an adjustment whose note names a code mix-up also links by ``mixup:<user>``, so
the corrections of one mix-up on two codes in one sitting are one incident.

Count corrections (a clerk posting exactly the variance a count just found) are neither
write-offs nor large adjustments; nor is the adjustment that opens a bin's balance (its
first row, adding stock).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.baselines import DAY, off_hours, writeoff_mask
from scoring.detectors.base import Context, flags, key, strength, trailing_count
from scoring.notes import catalogue_of, doubtful, named_cause
from warehouse.contract import RootCause

CODES = ("WRITE_OFF_PATTERN", "LARGE_ADJUSTMENT", "OFFSETTING_ADJUSTMENTS", "NOTED_EXCEPTION")

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


def eligible(ctx: Context) -> dict[str, np.ndarray]:
    """Write-offs; every adjustment."""
    f = ctx.frame
    adj = (f["type"] == "ADJUSTMENT").to_numpy()
    return {"WRITE_OFF_PATTERN": writeoff_mask(f), "LARGE_ADJUSTMENT": adj,
            "OFFSETTING_ADJUSTMENTS": adj, "NOTED_EXCEPTION": adj & f["note"].notna().to_numpy()}


def detect(ctx: Context) -> pd.DataFrame:
    """Write-off patterns, large, offsetting and noted adjustments (:data:`CODES`)."""
    sized = pd.concat([_writeoffs(ctx), _large(ctx), _offsetting(ctx)], ignore_index=True)
    return _with_mix_up_keys(ctx, pd.concat([sized, _noted(ctx, set(sized["row"]))],
                                            ignore_index=True))


FIX_CAUSES = frozenset({RootCause.MIS_SCAN, RootCause.UOM_MASTER_DATA, RootCause.SHRINKAGE,
                        RootCause.RECEIVING_ERROR})
"""Causes a note can name that leave something to fix (an explained damage leaves nothing)."""


def _with_mix_up_keys(ctx: Context, out: pd.DataFrame) -> pd.DataFrame:
    """Flags on adjustments whose note names a code mix-up also carry ``mixup:<user>``.

    One mix-up is seen from both codes: the person who found it corrects each ("wrong
    barcode" on one, "barcode problem" on the other) within one sitting, so their flags
    are one incident (the key's window, :data:`scoring.incidents.LINK_WINDOWS`).
    """
    if out.empty:
        return out
    f = ctx.frame
    catalogue = catalogue_of(ctx.catalog.items)
    rows = f.iloc[out["row"].to_numpy()]
    noted = [rtype == "ADJUSTMENT" and isinstance(note, str)
             and named_cause(note, catalogue) is RootCause.MIS_SCAN
             for rtype, note in zip(rows["type"], rows["note"], strict=True)]
    users = rows["user_id"].fillna("?").to_numpy(dtype=object)
    keys = pd.Series([(*ks, f"mixup:{u}") if mix else ks
                      for ks, mix, u in zip(out["keys"], noted, users, strict=True)],
                     index=out.index, dtype=object)
    return out.assign(keys=keys)


def _noted(ctx: Context, flagged: set[int]) -> pd.DataFrame:
    """An adjustment the other rules pass over whose own note names a cause to fix.

    Rows another adjustment rule flagged are left out: their note reaches the reasoner with
    the case anyway, and counting it again would only push the incident's risk to 1.
    """
    f = ctx.frame
    adj = f[(f["type"] == "ADJUSTMENT") & f["note"].notna() & ~f["row"].isin(flagged)]
    if adj.empty:
        return flags("adjustments", "", [], [], {}, [])
    catalogue = catalogue_of(ctx.catalog.items)
    said: dict[str, tuple[str, float]] = {}
    for note in adj["note"].unique():
        cause = named_cause(str(note), catalogue)
        if cause in FIX_CAUSES:
            said[note] = (cause.value, 0.1 if doubtful([str(note)]) else 0.15)
    hit = adj[adj["note"].isin(list(said))]
    read = [said[n] for n in hit["note"]]
    return flags(
        "adjustments", "NOTED_EXCEPTION", hit["row"].to_numpy(), [s for _, s in read],
        {"eaches": hit["eaches"].to_numpy(), "note_points_at": [c for c, _ in read]},
        [key("sku", hit["sku"]), key("bin", _bins(hit))],
    )


def _large(ctx: Context) -> pd.DataFrame:
    """One adjustment many times the item's typical movement."""
    f = ctx.frame
    p = ctx.params
    adj = f[(f["type"] == "ADJUSTMENT") & f["eaches"].notna()]
    adj = adj[~_corrections(f, adj, p["count_followup_h"] * HOUR)]
    # a bin's first row adding stock is its opening balance (a stock take, a migration)
    first = ~pd.Series(_bins(f)).duplicated().to_numpy()
    adj = adj[~(first[adj["row"].to_numpy()] & (adj["eaches"].to_numpy() > 0))]
    if adj.empty:
        return flags("adjustments", "", [], [], {}, [])
    typ = ctx.baselines.qty_type
    site = float(typ["med"].get("PICK", typ["med"].median())) if len(typ) else 0.0
    qs = ctx.baselines.qty_sku
    med = (
        qs["med"].reindex(pd.MultiIndex.from_arrays([adj["sku"], ["PICK"] * len(adj)])).to_numpy()
        if len(qs)
        else np.full(len(adj), np.nan)
    )
    typical = np.maximum(np.expm1(np.where(np.isnan(med), site, med)), 1.0)
    size = np.abs(adj["eaches"].to_numpy())
    ratio = size / typical
    hit = (size >= p["adjust_min_eaches"]) & (ratio >= p["adjust_ratio"])
    d = adj[hit]
    return flags(
        "adjustments",
        "LARGE_ADJUSTMENT",
        d["row"].to_numpy(),
        strength(np.log(ratio[hit]), np.log(p["adjust_ratio"]), np.log(100 * p["adjust_ratio"])),
        {
            "eaches": d["eaches"].to_numpy(),
            "typical_movement": np.round(typical[hit], 1),
            "ratio": np.round(ratio[hit], 1),
            "value": np.round(size[hit] * d["unit_cost"].fillna(0).to_numpy(), 2),
            "reason_code": d["reason_code"].to_numpy(),
        },
        [key("sku", d["sku"]), key("bin", _bins(d))],
    )


def _offsetting(ctx: Context) -> pd.DataFrame:
    """+N on one code and -N on another the same day, of a size rarely seen at the site."""
    f = ctx.frame
    p = ctx.params
    adj = f[(f["type"] == "ADJUSTMENT") & (f["eaches"].abs() >= 0.5)]
    if len(adj) < 2:
        return flags("adjustments", "", [], [], {}, [])
    a = pd.DataFrame({
        "row": adj["row"].to_numpy(), "sku": adj["sku"].to_numpy(dtype=object),
        "t": adj["t"].to_numpy(), "day": adj["t"].to_numpy() // DAY,
        "mag": np.abs(adj["eaches"].to_numpy()), "s": np.sign(adj["eaches"].to_numpy()),
    })
    # expected coincidental partners: the day's opposite-sign adjustments times the share
    # of opposite-sign adjustments of this size, leaving out the one partner found
    size_n = a.groupby(["s", "mag"]).size()
    sign_n = a.groupby("s").size()
    same = size_n.reindex(pd.MultiIndex.from_arrays([-a["s"], a["mag"]])).fillna(0).to_numpy()
    total = sign_n.reindex(-a["s"]).fillna(0).to_numpy()
    share_opp = np.maximum(same - 1, 0) / np.maximum(total - 1, 1)
    n_opp = a.groupby(["day", "s"]).size().reindex(
        pd.MultiIndex.from_arrays([a["day"], -a["s"]])).fillna(0).to_numpy()
    a["chance"] = share_opp * n_opp
    m = a.merge(a, on=["day", "mag"], suffixes=("", "_o"))
    m = m[(m["s"] > 0) & (m["s_o"] < 0) & (m["sku"] != m["sku_o"])
          & (m["chance"] <= p["offset_chance"]) & (m["chance_o"] <= p["offset_chance"])]
    if m.empty:
        return flags("adjustments", "", [], [], {}, [])
    m = m.assign(gap=(m["t"] - m["t_o"]).abs()).sort_values(["gap", "row", "row_o"])
    m = m.drop_duplicates("row").drop_duplicates("row_o")
    ids = f["txn_id"].to_numpy(dtype=object)
    up, down = m["row"].to_numpy(), m["row_o"].to_numpy()
    pair = ids[up] + "-" + ids[down]
    rows = np.concatenate([up, down])
    other = np.concatenate([down, up])
    skus = f["sku"].to_numpy(dtype=object)
    eaches = f["eaches"].to_numpy()
    return flags(
        "adjustments",
        "OFFSETTING_ADJUSTMENTS",
        rows,
        strength(-np.log(np.concatenate([m["chance"], m["chance_o"]]) + 1e-6),
                 -np.log(p["offset_chance"]), -np.log(p["offset_chance"] / 100)),
        {
            "eaches": eaches[rows],
            "other_sku": skus[other],
            "other_eaches": eaches[other],
            "other_txn": ids[other],
            "hours_apart": np.round(np.abs(f["t"].to_numpy()[rows] - f["t"].to_numpy()[other])
                                    / HOUR, 2),
        },
        [key("sku", skus[rows]), key("sku", skus[other]), key("mirror", np.tile(pair, 2))],
    )


def _bins(f: pd.DataFrame) -> np.ndarray:
    return (f["sku"].fillna("") + "@" + f["location"].fillna("")).to_numpy(dtype=object)


def _writeoffs(ctx: Context) -> pd.DataFrame:
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
    off = off_hours(w, ctx.baselines, p["off_hours_min_rows"])
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
