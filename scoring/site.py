"""What is normal at this site: each rule's firing share, and what the scorer does about it.

At fit time every detector runs over the site's own log. Per reason code the scorer counts
the rows the rule considers (``eligible``, from the detector) and the rows it fires on. A
rule that fires on more than ``normal_practice_share`` of at least
``normal_practice_min_rows`` eligible rows describes how this site works, not an anomaly:

- when its strengths vary, it is **re-thresholded** to the site: only firings at or above
  the ``rethreshold_quantile`` of its strengths at the site are kept;
- when they do not (or the quantile would keep as many), it is **stood down** for the site.

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
            best = mine.groupby("row")["score"].max() if len(mine) else pd.Series(dtype=float)
            fired = len(best)
            share = fired / eligible if eligible else 0.0
            action, floor = KEPT, 0.0
            if (code not in PATTERN_CODES and eligible >= params["normal_practice_min_rows"]
                    and share > params["normal_practice_share"]):
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
    floor = raw["code"].map(dict(floors)).fillna(0.0).to_numpy(dtype="float64")
    return raw[raw["score"].to_numpy(dtype="float64") >= floor].reset_index(drop=True)
