"""Cycle-count variances beyond a tolerance predicted from velocity and value.

Also pack multiples, same-sign variances of one SKU in several bins, and mirrored +/-
variances nearby.

A variance is *explained* when the surrounding log settles it: a recount of the same bin
soon after finds the system right (a counting slip), or an adjustment of exactly the
variance follows (a clerk's correction). Explained variances stay quiet unless they are far
beyond the tolerance, which is predicted from the SKU's velocity and value.

A blind count is read against the running balance; in a bin the log never stocked, at a site
whose log starts from known stock, against an empty bin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.detectors.base import Context, flags, key, strength

HOUR = 3600


def needs(ctx: Context) -> str | None:
    """Counts need the system quantity shown at count time (expected_qty) or known."""
    f = _with_expected(ctx)
    counts = f["type"] == "CYCLE_COUNT"
    if not counts.any():
        return "no cycle counts in the log"
    if f.loc[counts, "exp_eaches"].notna().mean() < 0.5:
        return "cycle counts carry no expected_qty (system quantity) and balances are unknown"
    return None


def _follow_up(f: pd.DataFrame, counts: pd.DataFrame,
               window: float) -> tuple[np.ndarray, np.ndarray]:
    """Per count: does a recount agree with the system, does an exact correction follow.

    Both within ``window`` seconds of the count, on the same bin.
    """
    recount_ok = np.zeros(len(counts), bool)
    corrected = np.zeros(len(counts), bool)
    later = f[f["type"].isin(["CYCLE_COUNT", "ADJUSTMENT"])][
        ["sku", "location", "t", "type", "eaches", "exp_eaches", "row"]]
    m = counts[["sku", "location", "t", "row", "var"]].reset_index(names="ci").merge(
        later, on=["sku", "location"], suffixes=("", "_l"))
    m = m[(m["t_l"] >= m["t"]) & (m["t_l"] - m["t"] <= window) & (m["row_l"] > m["row"])]
    rec = m[(m["type"] == "CYCLE_COUNT") & ((m["eaches"] - m["exp_eaches"]).abs() < 0.5)]
    adj = m[(m["type"] == "ADJUSTMENT") & ((m["eaches"] - m["var"]).abs() < 0.5)]
    pos = pd.Series(np.arange(len(counts)), index=counts.index)
    recount_ok[pos.reindex(rec["ci"]).to_numpy()] = True
    corrected[pos.reindex(adj["ci"]).to_numpy()] = True
    return recount_ok, corrected


def _with_expected(ctx: Context) -> pd.DataFrame:
    """The frame, a blind count in a bin no row stocked reading against an empty bin.

    Where the history starts from known stock (``unknown_stock_share``), a SKU the log
    holds elsewhere has none in a bin it was never put in: a blind count that finds it
    there is a variance of everything it counted (goods put into the wrong bin).
    """
    f = ctx.frame
    if not ctx.baselines.unknown_stock <= ctx.params["unknown_stock_share"]:
        return f
    unseen = ((f["type"] == "CYCLE_COUNT") & f["exp_eaches"].isna() & ~f["pair_known"]
              & f["sku_known"])
    return f.assign(exp_eaches=f["exp_eaches"].mask(unseen, 0.0)) if unseen.any() else f


def eligible(ctx: Context) -> dict[str, np.ndarray]:
    """Every count rule considers the counts that show the system quantity."""
    f = _with_expected(ctx)
    counts = ((f["type"] == "CYCLE_COUNT") & f["eaches"].notna() & f["exp_eaches"].notna())
    rows = counts.to_numpy()
    codes = ("COUNT_VARIANCE", "PACK_MULTIPLE", "SAME_SIGN_VARIANCES", "MIRRORED_VARIANCE")
    return dict.fromkeys(codes, rows)


def detect(ctx: Context) -> pd.DataFrame:
    """``COUNT_VARIANCE``, ``PACK_MULTIPLE``, ``SAME_SIGN_VARIANCES``, ``MIRRORED_VARIANCE``."""
    f = _with_expected(ctx)
    p = ctx.params
    counts = f[(f["type"] == "CYCLE_COUNT") & f["eaches"].notna() & f["exp_eaches"].notna()].copy()
    counts["var"] = counts["eaches"] - counts["exp_eaches"]
    counts = counts[counts["var"].abs() >= p["count_min_variance"]]
    if counts.empty:
        return flags("counts", "", [], [], {}, [])
    slip, corrected = _follow_up(f, counts, p["count_followup_h"] * HOUR)
    rate = counts["sku"].map(ctx.baselines.each_rate).fillna(0).to_numpy()
    cost = counts["unit_cost"].fillna(0).to_numpy()
    # tolerance grows with velocity (more handling, more honest error) and shrinks with value
    tol = np.maximum(p["count_tol_min"], p["count_tol_velocity"] * np.sqrt(rate))
    tol = np.where(cost * tol > p["count_tol_value"], np.maximum(0.5, p["count_tol_value"]
                                                               / np.maximum(cost, 1e-9)), tol)
    var = counts["var"].to_numpy()
    rel = np.abs(var) / tol
    explained = slip | corrected
    hit = np.where(explained, rel > p["count_explained_factor"], rel > 1.0)
    c = counts[hit]
    out = [
        flags(
            "counts",
            "COUNT_VARIANCE",
            c["row"].to_numpy(),
            strength(rel[hit], 1.0, 8.0) * np.where(explained[hit], 0.6, 1.0),
            {
                "sku": c["sku"].to_numpy(),
                "counted": c["eaches"].to_numpy(),
                "expected": c["exp_eaches"].to_numpy(),
                "variance": var[hit],
                "tolerance": np.round(tol[hit], 1),
                "value": np.round(np.abs(var[hit]) * cost[hit], 2),
                "explained": np.where(
                    slip[hit], "recount",
                    np.where(corrected[hit], "adjusted", np.full(len(var[hit]), None)),
                ),
            },
            [key("sku", c["sku"]), key("bin", c["sku"] + "@" + c["location"])],
        )
    ]
    cq = c["case_qty"].to_numpy()
    v = np.abs(var[hit])
    pack = (
        (cq >= 2)
        & (v >= cq)
        & (np.abs(v / np.where(cq > 0, cq, 1) - np.round(v / np.where(cq > 0, cq, 1))) < 1e-9)
    )
    if pack.any():
        cp = c[pack]
        out.append(
            flags(
                "counts",
                "PACK_MULTIPLE",
                cp["row"].to_numpy(),
                np.full(pack.sum(), 0.7),
                {
                    "variance": var[hit][pack],
                    "case_qty": cq[pack],
                    "packs": var[hit][pack] / cq[pack],
                },
                [key("sku", cp["sku"])],
            )
        )
    # one SKU off with the same sign in several bins: a conversion, not a handling slip
    sign = np.sign(var[hit])
    g = pd.DataFrame(
        {
            "sku": c["sku"].to_numpy(),
            "loc": c["location"].to_numpy(),
            "s": sign,
            "row": c["row"].to_numpy(),
        }
    )
    nloc = g.groupby(["sku", "s"])["loc"].transform("nunique").to_numpy()
    same = nloc >= 2
    if same.any():
        out.append(
            flags(
                "counts",
                "SAME_SIGN_VARIANCES",
                g["row"].to_numpy()[same],
                np.full(same.sum(), 0.7),
                {"bins": nloc[same], "sign": np.where(sign[same] > 0, "+", "-")},
                [key("sku", g["sku"].to_numpy()[same])],
            )
        )
    out.append(_mirrored(ctx, c, var[hit]))
    return pd.concat(out, ignore_index=True)


def _mirrored(ctx: Context, c: pd.DataFrame, var: np.ndarray) -> pd.DataFrame:
    """Pairs of variances, +v and -v, close in time, on neighbouring bins or look-alikes."""
    p = ctx.params
    d = pd.DataFrame(
        {
            "row": c["row"].to_numpy(),
            "sku": c["sku"].to_numpy(),
            "loc": c["location"].to_numpy(),
            "t": c["t"].to_numpy(),
            "v": var,
            "x": c["x"].to_numpy(),
            "y": c["y"].to_numpy(),
            "grp": c["sku"].map(ctx.catalog.lookalike_group).to_numpy(),
            "mag": np.abs(var),
        }
    )
    m = d.merge(d, on="mag", suffixes=("", "_o"))
    m = m[
        (m["row"] != m["row_o"])
        & (np.sign(m["v"]) != np.sign(m["v_o"]))
        & ((m["t"] - m["t_o"]).abs() <= p["mirror_window_h"] * HOUR)
    ]
    dist = np.hypot(m["x"] - m["x_o"], m["y"] - m["y_o"])
    near = (dist <= p["neighbour_m"]).to_numpy()
    same_sku = (m["sku"] == m["sku_o"]).to_numpy() & (m["loc"] != m["loc_o"]).to_numpy()
    alike = (
        (m["grp"] == m["grp_o"]).to_numpy()
        & pd.notna(m["grp"]).to_numpy()
        & (m["sku"] != m["sku_o"]).to_numpy()
    )
    m = m[(same_sku & (near | ~np.isfinite(dist.to_numpy()))) | alike]
    if m.empty:
        return flags("counts", "", [], [], {}, [])
    m = m.sort_values(["row", "t_o"]).drop_duplicates("row")
    # keyed on txn ids, so flags scored online regroup the same way
    ids = ctx.frame["txn_id"].to_numpy(dtype=object)
    a, b = ids[m["row"].to_numpy()], ids[m["row_o"].to_numpy()]
    pair = np.where(a < b, a + "-" + b, b + "-" + a)
    return flags(
        "counts",
        "MIRRORED_VARIANCE",
        m["row"].to_numpy(),
        np.full(len(m), 0.85),
        {
            "variance": m["v"].to_numpy(),
            "other_sku": m["sku_o"].to_numpy(),
            "other_location": m["loc_o"].to_numpy(),
            "other_variance": m["v_o"].to_numpy(),
        },
        [key("sku", m["sku_o"]), key("mirror", pair)],
    )
