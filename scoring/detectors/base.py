"""What every detector receives and returns.

A detector is a pure function of a :class:`Context` that returns a *flag frame*: one row
per firing with the frame row it fired on, its reason code, a raw strength in 0..1, the
numbers behind it (already formatted into ``reason``) and the link keys incidents are
grouped by. ``needs`` says, in one line, why the data cannot support the detector (or None).
``eligible`` says, per reason code, which rows of the frame the rule considers: the scorer
compares how many of them fire with what is normal at the site (:mod:`scoring.site`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from scoring.baselines import Baselines
from scoring.frame import Catalog

FLAG_COLUMNS = ["row", "detector", "code", "score", "reason", "numbers", "keys"]


@dataclass
class Context:
    """The scored frame plus what was learned from history.

    Attributes:
        frame: prepared transactions with balances (scoring.frame, scoring.balances).
        catalog: item and location lookups.
        baselines: statistics fitted on the history.
        params: detector thresholds (``params["name"]``), see :class:`scoring.params.ScorerParams`.
        now: the time the log has reached, where the frame is only part of it (online
            scoring); None: the frame's last row.
    """

    frame: pd.DataFrame
    catalog: Catalog
    baselines: Baselines
    params: Any = field(default_factory=dict)
    now: float | None = None

    def log_end(self) -> float:
        """Epoch seconds the log has reached (rules waiting for later rows compare with it)."""
        return float(self.frame["t"].max()) if self.now is None else self.now

    def has(self, column: str, min_share: float = 0.0) -> bool:
        """Whether ``column`` has values on more than ``min_share`` of the rows."""
        col = self.frame.get(column)
        return col is not None and len(col) > 0 and float(col.notna().mean()) > min_share


@dataclass(frozen=True)
class Detector:
    """A named detector: what it needs from the data, how it fires, which rows it considers."""

    name: str
    needs: Callable[[Context], str | None]
    run: Callable[[Context], pd.DataFrame]
    eligible: Callable[[Context], Mapping[str, np.ndarray]]


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        x = float(value)
        if not np.isfinite(x):
            return "inf" if x > 0 else "nan"
        return f"{value:.0f}" if x.is_integer() and abs(x) < 1e9 else f"{value:.3g}"
    return str(value)


def _shown(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and value != value)


def flags(detector: str, code: str, rows: ArrayLike, score: ArrayLike,
          numbers: Mapping[str, ArrayLike], keys: Sequence[ArrayLike]) -> pd.DataFrame:
    """Build a flag frame for one detector and reason code.

    Args:
        detector: detector name.
        code: reason code, e.g. ``WEIGHT_MISMATCH``.
        rows: frame rows that fire.
        score: raw strength per firing row, clipped to 0..1.
        numbers: name -> per-row values; they appear in ``reason`` as ``name=value``.
        keys: per-row link keys (strings or None) that group flags into incidents.

    Returns:
        A frame with :data:`FLAG_COLUMNS`.
    """
    fired = np.asarray(rows, dtype=np.int64)
    if len(fired) == 0:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    names = list(numbers)
    cols = [np.asarray(numbers[k], dtype=object) for k in names]
    nums = [dict(zip(names, vals, strict=True)) for vals in zip(*cols, strict=True)] if names \
        else [{} for _ in fired]
    nums = [{k: v.item() if isinstance(v, np.generic) else v for k, v in d.items()} for d in nums]
    nums = [{k: v for k, v in d.items() if _shown(v)} for d in nums]
    reasons = [" ".join([code, *(f"{k}={_fmt(v)}" for k, v in d.items())])
               for d in nums]
    key_cols = [np.asarray(k, dtype=object) for k in keys]
    key_lists = [tuple(k for k in ks if isinstance(k, str)) for ks in zip(*key_cols, strict=True)]
    return pd.DataFrame({
        "row": fired, "detector": detector, "code": code,
        "score": np.clip(np.asarray(score, dtype="float64"), 0.0, 1.0), "reason": reasons,
        "numbers": nums, "keys": key_lists,
    })


def key(prefix: str, values: ArrayLike | pd.Series) -> np.ndarray:
    """Link keys ``prefix:value`` (None where the value is missing)."""
    v = np.asarray(values, dtype=object)
    ok = pd.notna(v)
    out = np.full(len(v), None, dtype=object)
    out[ok] = [f"{prefix}:{x}" for x in v[ok]]
    return out


def strength(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map ``x`` linearly from [lo, hi] onto [0.5, 1] (clipped), the raw flag strength."""
    return np.clip(0.5 + 0.5 * (np.asarray(x, dtype="float64") - lo) / (hi - lo), 0.5, 1.0)


def trailing_count(group: np.ndarray, t: np.ndarray, window: float) -> np.ndarray:
    """Rows of the same ``group`` within ``window`` seconds up to and including each row."""
    codes, _ = pd.factorize(np.asarray(group, dtype=object), use_na_sentinel=False)
    order = np.lexsort((np.arange(len(t)), t, codes))
    combo = codes[order].astype(np.int64) * (10 ** 11) + np.asarray(t, dtype=np.int64)[order]
    first = np.searchsorted(combo, combo - int(window), side="left")
    counts = np.empty(len(t), np.int64)
    counts[order] = np.arange(len(order)) - first + 1
    return counts
