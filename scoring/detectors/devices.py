"""Scanner behaviour per device: double scans seconds apart and impossible travel."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scoring.detectors.base import Context, flags, key, strength

SCAN_TYPES = ("PICK", "PUTAWAY", "MOVE", "RECEIPT", "RETURN")
# the columns detect reads: its sorts and filters take only these (an event's context is tiny,
# where each column taken is most of the cost)
READ = ["row", "txn_id", "type", "t", "device_id", "user_id", "sku", "location", "qty", "ref",
        "x", "y"]


def needs(ctx: Context) -> str | None:
    """Needs a device or at least a user on the rows."""
    if not ctx.has("device_id") and not ctx.has("user_id"):
        return "no device_id or user_id to follow a scanner"
    return None


def _scanner(f: pd.DataFrame) -> np.ndarray:
    dev = f["device_id"].to_numpy(dtype=object)
    user = f["user_id"].to_numpy(dtype=object)
    return np.where(pd.notna(dev), dev, user)


def eligible(ctx: Context) -> dict[str, np.ndarray]:
    """Scans by a known scanner; picks on located bins."""
    f = ctx.frame
    scan = f["type"].isin(SCAN_TYPES).to_numpy() & pd.notna(_scanner(f))
    return {
        "DOUBLE_SCAN": scan,
        "IMPOSSIBLE_TRAVEL": scan & (f["type"] == "PICK").to_numpy() & f["x"].notna().to_numpy(),
    }


def detect(ctx: Context) -> pd.DataFrame:
    """``DOUBLE_SCAN`` and ``IMPOSSIBLE_TRAVEL``.

    A double scan is the same item, bin, quantity and task again within seconds on one
    scanner; impossible travel is consecutive picks of one task farther apart than anyone
    moves in the time.
    """
    f = ctx.frame
    p = ctx.params
    scans = f["type"].isin(SCAN_TYPES).to_numpy()
    s = f.loc[scans, READ].assign(scanner=lambda d: _scanner(d))
    s = s[pd.notna(s["scanner"].to_numpy())].sort_values(["scanner", "t", "row"], kind="stable")
    out = []
    if len(s) > 1:
        same = np.zeros(len(s), bool)
        same[1:] = (s["scanner"].to_numpy()[1:] == s["scanner"].to_numpy()[:-1])
        dt = np.zeros(len(s))
        dt[1:] = np.diff(s["t"].to_numpy())
        eq = same.copy()
        for col in ("sku", "location", "type"):
            v = s[col].to_numpy(dtype=object)
            eq[1:] &= v[1:] == v[:-1]
        q = s["qty"].to_numpy()
        eq[1:] &= q[1:] == q[:-1]
        task = s["ref"].to_numpy(dtype=object)
        eq[1:] &= (task[1:] == task[:-1]) | pd.isna(task[1:]) | pd.isna(task[:-1])
        dbl = eq & (dt > 0) & (dt <= p["double_scan_s"])
        prev_txn = np.empty(len(s), dtype=object)
        prev_txn[1:] = s["txn_id"].to_numpy()[:-1]
        d = s[dbl]
        out.append(flags("devices", "DOUBLE_SCAN", d["row"].to_numpy(),
                         strength(p["double_scan_s"] - dt[dbl], 0, p["double_scan_s"]),
                         {"seconds_apart": dt[dbl], "qty": d["qty"].to_numpy(),
                          "scanner": d["scanner"].to_numpy(), "first_txn": prev_txn[dbl]},
                         [key("sku", d["sku"]), key("txn", prev_txn[dbl])]))
        pk = s[(s["type"] == "PICK").to_numpy() & s["x"].notna().to_numpy()]
        if len(pk) > 1 and ctx.has("x"):
            same = np.zeros(len(pk), bool)
            # only consecutive scans of one task: interleaved orders are not one walk
            task = pk["ref"].to_numpy(dtype=object)
            same[1:] = (pk["scanner"].to_numpy()[1:] == pk["scanner"].to_numpy()[:-1]) \
                & (task[1:] == task[:-1]) & pd.notna(task[1:])
            dist = np.zeros(len(pk))
            dist[1:] = np.hypot(np.diff(pk["x"].to_numpy()), np.diff(pk["y"].to_numpy()))
            dt = np.zeros(len(pk))
            dt[1:] = np.diff(pk["t"].to_numpy())
            speed = dist / np.maximum(dt, 1.0)
            fast = same & (dist >= p["travel_min_m"]) & (speed > p["travel_speed_ms"])
            d = pk[fast]
            out.append(
                flags(
                    "devices",
                    "IMPOSSIBLE_TRAVEL",
                    d["row"].to_numpy(),
                    strength(speed[fast], p["travel_speed_ms"], 4 * p["travel_speed_ms"]),
                    {
                        "metres": np.round(dist[fast], 1),
                        "seconds": dt[fast],
                        "m_per_s": np.round(speed[fast], 1),
                        "scanner": d["scanner"].to_numpy(),
                    },
                    [key("device", d["scanner"])],
                )
            )
    return pd.concat(out, ignore_index=True) if out else flags("devices", "", [], [], {}, [])
