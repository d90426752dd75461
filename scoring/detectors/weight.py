"""Measured weight against the item master, and which look-alike fits it better.

Ratios that stay constant across rows point at the master data, not at a handling slip; the
rows counted are separate weighings (a putaway re-weighing the goods of an off-weight
receipt of its document is the same weighing again).

A dock-scale misread is explained when the same goods are re-weighed plausibly soon after
(the putaways off that dock carry weights that fit, and none that does not: on a site with
one ASN line per pallet, a short pallet's putaway weighs short too).

What "fits" means is the site's: the tolerance is ``weight_tolerance`` or, at a site whose
scales are noisier, ``weight_noise_sigmas`` times the weighing noise learned from the log
(:attr:`scoring.baselines.Baselines.weight_noise`). A look-alike is named only when the
weight fits it within that tolerance and does not fit the scanned item.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.detectors.base import Context, flags, key, strength

HOUR = 3600


def needs(ctx: Context) -> str | None:
    """Needs measured weights and master unit weights."""
    if not ctx.has("weight_kg"):
        return "no measured weights (weight_kg) in the log"
    if not ctx.has("unit_weight"):
        return "no unit weights in the item master"
    return None


def _reweighed(f: pd.DataFrame, cand: pd.DataFrame, tol: float, window: float) -> np.ndarray:
    """Receipts whose goods were re-weighed within ``window``, every time plausibly."""
    later = f[(f["type"].isin(["PUTAWAY", "MOVE"])) & f["weight_kg"].notna()
              & (f["eaches"] > 0)][["sku", "location", "t", "weight_kg", "eaches", "unit_weight"]]
    if later.empty or cand.empty:
        return np.zeros(len(cand), bool)
    later = later.assign(ok=np.abs(np.log(later["weight_kg"] / (later["eaches"]
                                                                 * later["unit_weight"]))) <= tol)
    m = cand[["sku", "location", "t"]].reset_index(names="ci").merge(later, on=["sku", "location"],
                                                                     suffixes=("", "_l"))
    m = m[(m["t_l"] >= m["t"]) & (m["t_l"] - m["t"] <= window)]
    # every re-weigh must fit: one that does not is the same short pallet weighed again
    plausible = m.groupby("ci")["ok"].all()
    return cand.index.isin(plausible.index[plausible.to_numpy()])


def eligible(ctx: Context) -> dict[str, np.ndarray]:
    """Every weight rule considers the rows a scale weighed, of items with a unit weight."""
    f = ctx.frame
    rows = (f["weight_kg"].notna() & (f["eaches"] > 0) & (f["unit_weight"] > 0)).to_numpy()
    return dict.fromkeys(("WEIGHT_MISMATCH", "DOCK_WEIGHT_MISMATCH", "WEIGHT_RATIO_CONSTANT"), rows)


def tolerance(ctx: Context) -> float:
    """Log-ratio within which a measured weight fits: the fixed one or the site's noise."""
    p = ctx.params
    return float(max(np.log(p["weight_tolerance"]),
                     p["weight_noise_sigmas"] * ctx.baselines.weight_noise))


def detect(ctx: Context) -> pd.DataFrame:
    """``WEIGHT_MISMATCH`` / ``DOCK_WEIGHT_MISMATCH`` and ``WEIGHT_RATIO_CONSTANT``."""
    f = ctx.frame
    p = ctx.params
    w = f[f["weight_kg"].notna() & (f["eaches"] > 0) & (f["unit_weight"] > 0)]
    if w.empty:
        return flags("weight", "", [], [], {}, [])
    expected = w["eaches"] * w["unit_weight"]
    ratio = w["weight_kg"] / expected
    tol = tolerance(ctx)
    lr = np.log(ratio.where(ratio > 0))
    off = np.abs(w["weight_kg"] - expected) > p["weight_abs_tol_kg"]
    bad = w[(np.abs(lr) > tol) & off & (w["weight_kg"] > 0)].copy()
    if bad.empty:
        return flags("weight", "", [], [], {}, [])
    bad["ratio"] = ratio[bad.index]
    bad["expected"] = expected[bad.index]
    receipt = (bad["type"] == "RECEIPT").to_numpy()
    rew = _reweighed(f, bad[receipt], tol, p["reweigh_window_h"] * HOUR)
    keep = np.ones(len(bad), bool)
    keep[np.flatnonzero(receipt)[rew]] = False
    bad = bad[keep]
    if bad.empty:
        return flags("weight", "", [], [], {}, [])
    # the ratio repeats across rows of one SKU: the master is wrong
    lrb = np.log(bad["ratio"])
    med = lrb.groupby(bad["sku"]).transform("median")
    n = (~_reweighs(bad)).groupby(bad["sku"]).transform("sum")
    steady = (
        (np.abs(lrb - med) < np.log(p["weight_steady_ratio"])) & (n >= p["weight_steady_min_rows"])
    ).to_numpy()
    n_users = bad.groupby("sku")["user_id"].transform("nunique").to_numpy()
    best, best_ratio = _best_lookalike(ctx, bad, tol)
    code = np.where(bad["type"].to_numpy() == "RECEIPT", "DOCK_WEIGHT_MISMATCH", "WEIGHT_MISMATCH")
    out = []
    for c in ("DOCK_WEIGHT_MISMATCH", "WEIGHT_MISMATCH"):
        sel = code == c
        b = bad[sel]
        out.append(
            flags(
                "weight",
                c,
                b["row"].to_numpy(),
                strength(np.abs(np.log(b["ratio"].to_numpy())), tol, 4 * tol),
                {
                    "measured_kg": b["weight_kg"].to_numpy(),
                    "expected_kg": np.round(b["expected"].to_numpy(), 2),
                    "ratio": np.round(b["ratio"].to_numpy(), 3),
                    "implied_eaches": np.round(
                        b["weight_kg"].to_numpy() / b["unit_weight"].to_numpy(), 1
                    ),
                    "best_lookalike": best[sel],
                    "lookalike_ratio": best_ratio[sel],
                },
                [
                    key("sku", b["sku"]),
                    key("sku", best[sel]),
                    key("ref", b["ref"] if c == "DOCK_WEIGHT_MISMATCH" else np.full(len(b), None)),
                ],
            )
        )
    if steady.any():
        b = bad[steady]
        out.append(
            flags(
                "weight",
                "WEIGHT_RATIO_CONSTANT",
                b["row"].to_numpy(),
                np.full(len(b), 0.85),
                {
                    "ratio": np.round(np.exp(med[steady].to_numpy()), 3),
                    "rows": n[steady].to_numpy(),
                    "users": n_users[steady],
                },
                [key("sku", b["sku"]), key("master", b["sku"])],
            )
        )
    return pd.concat(out, ignore_index=True)


def _reweighs(bad: pd.DataFrame) -> pd.Series:
    """Off-weight putaways and moves of goods an off-weight receipt of their document weighed.

    A receipt and the putaway of its goods are one set of goods weighed twice: a keying slip
    on one ASN line is off at the dock and again at the putaway, which is not a ratio that
    repeats across handlings.
    """
    pair = bad["sku"].astype(str) + "@" + bad["ref"].astype(str)
    received = set(pair[(bad["type"] == "RECEIPT") & bad["ref"].notna()])
    return bad["type"].isin(["PUTAWAY", "MOVE"]) & bad["ref"].notna() & pair.isin(received)


def _best_lookalike(
    ctx: Context, bad: pd.DataFrame, tol: float
) -> tuple[np.ndarray, np.ndarray]:
    """The look-alike SKU whose unit weight explains the measured weight best, if one fits.

    It must fit within ``tol`` (log-ratio) where the scanned item does not: a weight that
    fits both items within the site's weighing noise names no look-alike.
    """
    grp = ctx.catalog.lookalike_group
    items = ctx.catalog.items
    best = np.full(len(bad), None, dtype=object)
    best_ratio = np.full(len(bad), np.nan)
    if grp.isna().all():
        return best, best_ratio
    members = pd.DataFrame({"grp": grp, "uw": items["unit_weight_kg"].reindex(grp.index)})
    members = members[members["grp"].notna() & (members["uw"] > 0)].reset_index(names="other")
    cand = pd.DataFrame(
        {
            "i": np.arange(len(bad)),
            "sku": bad["sku"].to_numpy(),
            "grp": bad["sku"].map(grp).to_numpy(),
            "w": bad["weight_kg"].to_numpy(),
            "e": bad["eaches"].to_numpy(),
        }
    ).merge(members, on="grp")
    cand = cand[cand["other"] != cand["sku"]]
    if cand.empty:
        return best, best_ratio
    cand["r"] = cand["w"] / (cand["e"] * cand["uw"])
    cand["err"] = np.abs(np.log(cand["r"]))
    own = np.abs(np.log(bad["weight_kg"].to_numpy() / (bad["eaches"] * bad["unit_weight"])
                        .to_numpy()))
    cand = cand[(cand["err"] <= tol) & (own[cand["i"].to_numpy()] > tol)]
    cand = cand.sort_values("err").drop_duplicates("i")
    best[cand["i"].to_numpy()] = cand["other"].to_numpy()
    best_ratio[cand["i"].to_numpy()] = np.round(cand["r"].to_numpy(), 3)
    return best, best_ratio
