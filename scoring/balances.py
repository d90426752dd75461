"""Running system balances per (SKU, location), vectorised over the whole log.

Every row becomes one or two legs (the source, and the destination for PUTAWAY and MOVE);
legs are sorted by (pair, time) and summed cumulatively, so each row learns the balance
before and after it at its location and, for transfers, at its destination. A negative
balance also learns how long it lasted: the time until the pair is back at or above zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NEVER = np.iinfo(np.int64).max


def add_balances(frame: pd.DataFrame, opening: pd.DataFrame | None = None) -> None:
    """Add balance columns to a prepared frame, in place.

    Columns: ``bal_before``/``bal_after`` (at ``location``), ``dest_after`` (at
    ``to_location``), ``neg_for_s`` (seconds the balance at ``location`` stayed below zero
    after this row; NaN when it is not negative, inf when it never recovers in the frame),
    ``dest_neg_since_s`` (seconds the destination had been negative before this inflow),
    ``pair_known`` (the pair had stock coming in before this row) and ``sku_known`` (the
    SKU had any inflow before this row).

    Args:
        frame: output of :func:`scoring.frame.prepare`.
        opening: per (sku, location) at the start of the frame: ``balance`` (eaches) and
            ``neg_since`` (epoch seconds the balance went negative, NaN when it is not).
    """
    n = len(frame)
    eaches = np.nan_to_num(frame["eaches"].to_numpy(dtype="float64"))
    # rows kept only as context (their effect is already in ``opening``) move nothing
    live = (
        ~frame["context_only"].to_numpy(dtype=bool) if "context_only" in frame else np.ones(n, bool)
    )
    delta = frame["sign"].to_numpy() * eaches * live
    dest = (
        frame["to_location"].notna().to_numpy() & frame["type"].isin(["PUTAWAY", "MOVE"]).to_numpy()
    )
    dest &= live
    sku = np.concatenate(
        [frame["sku"].to_numpy(dtype=object), frame["sku"].to_numpy(dtype=object)[dest]]
    )
    loc = np.concatenate(
        [
            frame["location"].to_numpy(dtype=object),
            frame["to_location"].to_numpy(dtype=object)[dest],
        ]
    )
    rows = np.concatenate([np.arange(n), np.flatnonzero(dest)])
    d = np.concatenate([delta, eaches[dest]])
    t = frame["t"].to_numpy()[rows]
    sku_codes, sku_uniques = pd.factorize(sku, use_na_sentinel=False)
    loc_codes, loc_uniques = pd.factorize(loc, use_na_sentinel=False)
    pair = sku_codes.astype(np.int64) * (len(loc_uniques) + 1) + loc_codes
    order = np.lexsort(
        (np.concatenate([np.zeros(n, np.int8), np.ones(dest.sum(), np.int8)]), rows, pair)
    )
    p, dd, tt = pair[order], d[order], t[order]
    start = np.ones(len(p), bool)
    start[1:] = p[1:] != p[:-1]
    group = np.cumsum(start) - 1
    csum = np.cumsum(dd)
    base = (csum - dd)[start]
    after = csum - base[group]
    first = np.flatnonzero(start)
    open_bal = np.zeros(len(first))
    open_since = np.full(len(first), np.nan)
    if opening is not None and len(opening):
        at = {k: i for i, k in enumerate(opening.index)}
        pos = np.array(
            [
                at.get(k, -1)
                for k in zip(
                    sku_uniques[sku_codes[order][start]].tolist(),
                    loc_uniques[loc_codes[order][start]].tolist(),
                    strict=True,
                )
            ],
            dtype=np.int64,
        )
        open_bal = np.append(opening["balance"].to_numpy(dtype="float64"), np.nan)[pos]
        open_bal = np.where(np.isnan(open_bal), 0.0, open_bal)
        open_since = np.append(opening["neg_since"].to_numpy(dtype="float64"), np.nan)[pos]
        after = after + open_bal[group]
    # how long the balance before each leg has been negative (start of the current streak)
    is_neg = after < 0
    prev_neg = np.zeros(len(p), bool)
    prev_neg[1:] = is_neg[:-1] & ~start[1:]
    prev_neg[first] = open_bal < 0  # the frame opens on a negative balance
    opened = np.where(np.isfinite(open_since), open_since, tt[first])
    marker = np.where(is_neg & ~prev_neg, tt.astype("float64"), np.where(is_neg, np.nan, -1.0))
    marker[first] = np.where(is_neg[first], np.where(open_bal < 0, opened, tt[first]), -1.0)
    streak_t = _ffill(marker)
    prev_streak = np.full(len(p), np.nan)
    prev_streak[1:] = streak_t[:-1]
    prev_streak[first] = opened
    neg_since = np.where(prev_neg, tt - prev_streak, np.nan)
    # time until the pair is back at >= 0 (searching forward inside the group)
    idx = np.where(after >= 0, np.arange(len(p)), len(p))
    nxt = np.minimum.accumulate(idx[::-1])[::-1]
    nxt_ok = nxt < len(p)
    same = np.zeros(len(p), bool)
    same[nxt_ok] = group[nxt[nxt_ok]] == group[nxt_ok]
    heal = np.where(same, tt[np.minimum(nxt, len(p) - 1)] - tt, np.inf)
    neg_for = np.where(after < 0, heal, np.nan)
    inflow = (dd > 0).astype(np.int64)
    inflow_before = np.cumsum(inflow) - inflow
    pair_known = (inflow_before - (np.cumsum(inflow) - inflow)[start][group]) > 0
    src_leg = order < n
    leg_row = rows[order]
    res_after = np.full(n, np.nan)
    res_neg = np.full(n, np.nan)
    res_known = np.zeros(n, bool)
    res_after[leg_row[src_leg]] = after[src_leg]
    res_neg[leg_row[src_leg]] = neg_for[src_leg]
    res_known[leg_row[src_leg]] = pair_known[src_leg]
    dest_after = np.full(n, np.nan)
    dest_after[leg_row[~src_leg]] = after[~src_leg]
    dest_since = np.full(n, np.nan)
    dest_since[leg_row[~src_leg]] = neg_since[~src_leg]
    frame["dest_neg_since_s"] = dest_since
    frame["bal_after"] = res_after
    frame["bal_before"] = res_after - delta
    frame["dest_after"] = dest_after
    frame["neg_for_s"] = res_neg
    frame["pair_known"] = res_known
    inflow_row = (delta > 0) | dest
    no_sku = pd.isna(frame["sku"].to_numpy(dtype=object))
    frame["sku_known"] = _earlier_any(inflow_row, sku_codes[:n]) & ~no_sku


def _ffill(values: np.ndarray) -> np.ndarray:
    """Carry the last non-NaN value forward (NaN before the first)."""
    idx = np.where(np.isnan(values), 0, np.arange(len(values)))
    np.maximum.accumulate(idx, out=idx)
    return values[idx]


def _earlier_any(flag: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Whether any earlier row with the same ``key`` (integer codes) has ``flag`` set."""
    order = np.argsort(key, kind="stable")
    k, f = key[order], flag[order].astype(np.int64)
    csum = np.cumsum(f)
    start = np.ones(len(k), bool)
    start[1:] = k[1:] != k[:-1]
    base = (csum - f)[start][np.cumsum(start) - 1]
    out = np.empty(len(k), bool)
    out[order] = (csum - f - base) > 0
    return out


def closing_balances(frame: pd.DataFrame) -> pd.DataFrame:
    """``balance`` and ``neg_since`` per (sku, location) after the last row of a frame."""
    src = frame[["sku", "location", "bal_after"]]
    dst = frame.loc[frame["dest_after"].notna(), ["sku", "to_location", "dest_after"]]
    dst = dst.set_axis(["sku", "location", "bal_after"], axis=1)
    both = pd.concat([src.assign(o=frame["row"], leg=0), dst.assign(o=dst.index, leg=1)])
    both = both.sort_values(["o", "leg"], kind="stable")
    last = both.groupby(["sku", "location"], sort=False)["bal_after"].last()
    went_neg = frame[(frame["bal_before"] >= 0) & (frame["bal_after"] < 0)]
    since = went_neg.groupby(["sku", "location"], sort=False)["t"].last().astype("float64")
    out = pd.DataFrame({"balance": last, "neg_since": since.reindex(last.index)})
    out.loc[out["balance"] >= 0, "neg_since"] = np.nan
    return out


OUTBOUND_TYPES = ("PICK", "MOVE", "PUTAWAY")


def unknown_stock_share(frame: pd.DataFrame) -> float:
    """Share of outbound rows that take from bins with no recorded stock (0 with none).

    Small when the log starts from known balances (opening stock, then every movement);
    large for an export that starts mid-stream, whose balances mean little.
    """
    out = frame["type"].isin(OUTBOUND_TYPES).to_numpy()
    unknown = out & ~frame["pair_known"].to_numpy() & (frame["bal_before"].to_numpy() <= 0)
    return float(unknown.sum() / out.sum()) if out.any() else 0.0
