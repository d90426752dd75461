"""Receipts against the ASN, read the way this site posts them.

Sites post receipts against an ASN in one of two ways (contract section 1): one line per
pallet, the same SKU on several lines, each receipt carrying its own line's
``expected_qty``; or one line per SKU, the line's total repeated on every partial receipt.
Some sites also count the line down, each later part carrying the balance still open. The
receipts of one ASN and SKU are read together: they settle when their sum matches the line
total (the largest expected_qty) or the sum of their own lines (and, at a site that posts
per pallet, a whole number of equal lines, some received in parts). Otherwise the
difference is taken the way the site's other multi-part lines settle
(:attr:`scoring.baselines.Baselines.asn_per_line`), or the smaller one when the log shows
neither. Per line, only the receipts that differ from their own line are flagged.

A short line may still be completed by a later receipt: a shortage is only called once the
log runs past the time a later part would arrive, learned from the ASNs the history received
in parts (capped by ``receipt_open_h``). When the history shows no split delivery there is
nothing to wait for, so a short receipt is called at once, even in a log of a few rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.baselines import asn_lines
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


def eligible(ctx: Context) -> dict[str, np.ndarray]:
    """Receipts that carry an ASN quantity."""
    f = ctx.frame
    return {"RECEIPT_QTY_MISMATCH": _receipts(f).to_numpy()}


def _receipts(f: pd.DataFrame) -> pd.Series:
    return (f["type"] == "RECEIPT") & f["expected_qty"].notna() & f["qty"].notna()


def detect(ctx: Context) -> pd.DataFrame:
    """``RECEIPT_QTY_MISMATCH``: an ASN line received other than it said, in either convention."""
    f = ctx.frame
    p = ctx.params
    r = f[_receipts(f)]
    if r.empty:
        return flags("receiving", "", [], [], {}, [])
    lines, g = asn_lines(r)
    n = lines["n"].to_numpy()
    received = lines["received"].to_numpy()
    pooled, each = lines["pooled"].to_numpy(), lines["per_line"].to_numpy()
    site = ctx.baselines.asn_per_line
    per_line = np.abs(each) < np.abs(pooled) if np.isnan(site) else np.full(len(n), site >= 0.5)
    per_line &= n > 1
    settled = (np.abs(pooled) < 0.5) | (np.abs(each) < 0.5)
    if not np.isnan(site) and site >= 0.5:
        settled |= lines["whole_lines"].to_numpy()
    diff = np.where(settled, 0.0, np.where(per_line, each, pooled))
    ordered = received - np.where(per_line, each, pooled)
    d_row, o_row, pl_row = diff[g], ordered[g], per_line[g]
    rel = np.abs(d_row) / np.maximum(o_row, 1)
    # a short line may still be completed by a later receipt: wait before calling it short
    last = pd.Series(r["t"].to_numpy()).groupby(g).transform("max").to_numpy()
    wait = min(p["split_wait_factor"] * ctx.baselines.split_gap_s, p["receipt_open_h"] * 3600)
    still_open = (d_row < 0) & (ctx.log_end() - last < wait)
    own_line_ok = pl_row & (np.abs(r["qty"].to_numpy() - r["expected_qty"].to_numpy()) < 0.5)
    hit = (np.abs(d_row) >= 0.5) & (rel >= p["receipt_rel_tolerance"]) & ~still_open
    hit &= ~own_line_ok
    d = r[hit]
    return flags(
        "receiving",
        "RECEIPT_QTY_MISMATCH",
        d["row"].to_numpy(),
        strength(rel[hit], 0.0, 0.5),
        {
            "received": received[g][hit],
            "asn_qty": o_row[hit],
            "difference": d_row[hit],
            "difference_pct": np.round(100 * d_row[hit] / np.maximum(o_row[hit], 1), 1),
            "receipts": n[g][hit],
            "convention": np.where(pl_row[hit], "line per pallet", "line total per SKU"),
            "ref": d["ref"].to_numpy(),
        },
        [key("sku", d["sku"]), key("ref", d["ref"])],
    )
