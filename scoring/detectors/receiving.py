"""Receipts against the ASN: all receipts of one ASN together against what it said.

A partial delivery completed by a second receipt stays quiet, and a shortage is only called
once the log runs past the time a second part would arrive: how long later parts take is
learned from the ASNs the history received in parts (capped by ``receipt_open_h``). When
the history shows no split delivery there is nothing to wait for, so a short receipt is
called at once, even in a log of a few rows: a shortfall against the ASN needs no baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.detectors.base import Context, flags, key, strength


def needs(ctx: Context) -> str | None:
    """Needs receipts that carry the ASN quantity."""
    f = ctx.frame
    rec = f["type"] == "RECEIPT"
    if not rec.any():
        return "no receipts in the log"
    if f.loc[rec, "expected_qty"].notna().mean() < 0.3:
        return "receipts carry no expected_qty (ASN quantity)"
    return None


def detect(ctx: Context) -> pd.DataFrame:
    """``RECEIPT_QTY_MISMATCH``: received (all receipts of the ASN so far) differs from the ASN."""
    f = ctx.frame
    p = ctx.params
    r = f[(f["type"] == "RECEIPT") & f["expected_qty"].notna() & f["qty"].notna()]
    if r.empty:
        return flags("receiving", "", [], [], {}, [])
    day = (r["t"] // 86_400).astype(str)
    asn = (np.where(r["ref"].notna(), r["ref"].fillna(""), "day" + day) + "|" + r["sku"]).to_numpy()
    g = pd.Series(r["qty"].to_numpy()).groupby(asn)
    total = g.transform("sum").to_numpy()
    ordered = pd.Series(r["expected_qty"].to_numpy()).groupby(asn).transform("max").to_numpy()
    diff = total - ordered
    rel = np.abs(diff) / np.maximum(ordered, 1)
    # a short ASN may still be completed by a second receipt: wait before calling it short
    last = pd.Series(r["t"].to_numpy()).groupby(asn).transform("max").to_numpy()
    wait = min(1.25 * ctx.baselines.split_gap_s, p["receipt_open_h"] * 3600)
    still_open = (diff < 0) & (f["t"].max() - last < wait)
    hit = (np.abs(diff) >= 0.5) & (rel >= p["receipt_rel_tolerance"]) & ~still_open
    d = r[hit]
    return flags(
        "receiving",
        "RECEIPT_QTY_MISMATCH",
        d["row"].to_numpy(),
        strength(rel[hit], 0.0, 0.5),
        {
            "received": total[hit],
            "asn_qty": ordered[hit],
            "difference": diff[hit],
            "difference_pct": np.round(100 * diff[hit] / np.maximum(ordered[hit], 1), 1),
            "receipts": g.transform("size").to_numpy()[hit],
            "ref": d["ref"].to_numpy(),
        },
        [key("sku", d["sku"]), key("ref", d["ref"])],
    )
