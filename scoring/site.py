"""What is normal at this site: each rule's firing share, and what the scorer does about it.

At fit time every detector runs over the site's own log. Per reason code the scorer counts
the rows the rule considers (``eligible``, from the detector) and the rows it fires on. A
rule that fires on more than ``normal_practice_share`` of at least
``normal_practice_min_rows`` eligible rows describes how this site works, not an anomaly:

- when its strengths vary, it is **re-thresholded** to the site: only firings at or above
  the ``rethreshold_quantile`` of its strengths at the site are kept;
- when they do not (or the quantile would keep as many), it is **stood down** for the site.

Outlier rules (:data:`OUTLIER_CODES`: a robust z, a tail score) are built to fire on a
tiny share of rows; where one fires on more than ``outlier_share`` of its eligible rows the
site's distribution has a heavier tail than the rule assumes (big wholesale orders at a
retailer, seasonal peaks), and it is re-thresholded to the site: only the
``outlier_share`` most extreme of its eligible rows, by the rule's own measure
(:data:`MAGNITUDE`), stay flagged.

The table (:data:`REPORT_COLUMNS`) is the fitted scorer's ``detector_report_``; skipped
detectors appear in it with the reason. Pattern codes (one cause behind many rows, such as
``REPEATED_LINE_IN_REF``) describe the site by design and are never stood down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from scoring.detectors.base import Context, Detector
from scoring.detectors.sync import REPEATED_LINE_IN_REF

REPORT_COLUMNS = ["detector", "code", "eligible", "fired", "share", "action", "min_strength"]
PATTERN_CODES = frozenset({REPEATED_LINE_IN_REF})
# VELOCITY_SPIKE is not among them: its firings come in bursts (every line of a spike day
# fires), so its share of rows says how long spikes last, not how often they happen
OUTLIER_CODES = frozenset({"QTY_OUTLIER", "MULTIVARIATE_OUTLIER"})
# the number a rule ranks its firings by (its raw strength where none is named)
MAGNITUDE = {"QTY_OUTLIER": "z", "VELOCITY_SPIKE": "ratio", "BIN_OVERFILL": "ratio",
             "MULTIVARIATE_OUTLIER": "tail_score", "LARGE_ADJUSTMENT": "ratio"}
KEPT = "kept"
STOOD_DOWN = "stood down"
RETHRESHOLDED = "re-thresholded"


def learn_site(
    ctx: Context,
    raw: pd.DataFrame,
    detectors: Sequence[Detector],
    skipped: Mapping[str, str],
    params: Any,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Per code, the least raw strength kept at this site (inf: stood down) and the report.

    Args:
        ctx: the site's history frame and baselines.
        raw: the flags every detector raised on it, before calibration.
        detectors: the detectors in use.
        skipped: detector -> why the data cannot support it.
        params: the scorer's params (``normal_practice_*``, ``rethreshold_quantile``).
    """
    rows: list[dict[str, object]] = []
    floors: dict[str, float] = {}
    for det in detectors:
        if det.name in skipped:
            rows.append({"detector": det.name, "code": "", "eligible": 0, "fired": 0,
                         "share": np.nan, "action": f"skipped: {skipped[det.name]}",
                         "min_strength": np.nan})
            continue
        for code, mask in det.eligible(ctx).items():
            eligible = int(np.count_nonzero(mask))
            mine = raw[raw["code"].to_numpy() == code]
            best = (
                pd.Series(_magnitude(mine), index=mine["row"].to_numpy()).groupby(level=0).max()
                if len(mine)
                else pd.Series(dtype=float)
            )
            fired = len(best)
            share = fired / eligible if eligible else 0.0
            action, floor = KEPT, 0.0
            judged = code not in PATTERN_CODES and eligible >= params["normal_practice_min_rows"]
            if judged and code in OUTLIER_CODES and share > params["outlier_share"]:
                keep = max(1, int(params["outlier_share"] * eligible))
                floor = float(np.sort(best.to_numpy())[::-1][keep - 1])
                if (best.to_numpy() >= floor).sum() > 2 * keep:  # a tie at the floor: above it
                    floor = float(np.nextafter(floor, np.inf))
                action = (f"{RETHRESHOLDED}: fires on {share:.2%} of eligible rows (heavier tail "
                          f"than the rule assumes); keeps {MAGNITUDE.get(code, 'strength')} >= "
                          f"{floor:.3g}, the site's top {params['outlier_share']:.2%}")
                floors[code] = floor
            elif judged and share > params["normal_practice_share"]:
                floor = float(np.quantile(best.to_numpy(), params["rethreshold_quantile"]))
                kept = int((best.to_numpy() >= floor).sum())
                if floor > float(best.min()) and kept / eligible <= params[
                        "normal_practice_share"]:
                    action = (f"{RETHRESHOLDED}: fires on {share:.0%} of eligible rows (site "
                              f"practice); keeps strength >= {floor:.3g} "
                              f"(site q{params['rethreshold_quantile']:g})")
                else:
                    floor = np.inf
                    action = f"{STOOD_DOWN}: fires on {share:.0%} of eligible rows (site practice)"
                floors[code] = floor
            rows.append({"detector": det.name, "code": code, "eligible": eligible,
                         "fired": fired, "share": round(share, 4), "action": action,
                         "min_strength": floor})
    return floors, pd.DataFrame(rows, columns=REPORT_COLUMNS)


def apply_site(raw: pd.DataFrame, floors: Mapping[str, float]) -> pd.DataFrame:
    """Drop the flags of rules stood down at this site and those under a re-threshold."""
    if not floors or not len(raw):
        return raw
    floor = raw["code"].map(dict(floors)).fillna(-np.inf).to_numpy(dtype="float64")
    return raw[_magnitude(raw) >= floor].reset_index(drop=True)


def _magnitude(ff: pd.DataFrame) -> np.ndarray:
    """Per flag: the number its rule ranks by (:data:`MAGNITUDE`), else its raw strength."""
    out = ff["score"].to_numpy(dtype="float64").copy()
    codes = ff["code"].to_numpy(dtype=object)
    for code, name in MAGNITUDE.items():
        sel = np.flatnonzero(codes == code)
        if len(sel):
            nums = ff["numbers"].to_numpy(dtype=object)[sel]
            out[sel] = [float(n.get(name, np.nan)) for n in nums]
    return out
