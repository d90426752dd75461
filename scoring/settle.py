"""When an event's flags are final: the rules that read rows after the one they flag.

Most rules judge a row by what came before it, so online scoring knows its verdict at once.
A few read the log after the row too, and batch scoring (which sees the whole log) gives
them that hindsight; online scoring must wait for it before its flags equal batch's:

- ``DOCK_WEIGHT_MISMATCH``: a dock misread is explained by plausible re-weighs within
  ``reweigh_window_h`` after the receipt.
- the count rules: a recount or exact correction within ``count_followup_h`` explains a
  variance, and a mirrored variance may come up to ``mirror_window_h`` later (itself
  explained in its own follow-up window).
- ``RECEIPT_QTY_MISMATCH``: a short line is only called once the log runs past the wait for
  a later part (the later parts arriving within the history's split gap).
- ``NEGATIVE_BALANCE``: a negative balance is news once it outlasts the grace period.
- ``OFFSETTING_ADJUSTMENTS`` (and ``NOTED_EXCEPTION``, which stands down on rows the other
  adjustment rules flag): the partner is posted the same day, before or after.

:func:`horizon` says how long after an event its verdict may still change; the scorer's
settling path (:meth:`scoring.scorer.Scorer.stream_event`) holds the event that long.
Statistics over the whole log (:data:`WHOLE_LOG`: a SKU's steady weight ratio, same-sign
variances across bins, a place overloaded again and again, how rare an adjustment size is)
have no horizon: online they count what has arrived when the event settles (the first two
settle with the rules they build on, so they count the rows those rules leave).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from scoring.baselines import DAY, Baselines

HOUR = 3600


def _receipt_wait(p: Any, b: Baselines) -> float:
    wait = min(p["split_wait_factor"] * b.split_gap_s, p["receipt_open_h"] * HOUR)
    return float(b.split_gap_s + wait)


def _counts(p: Any, b: Baselines) -> float:
    return float((p["mirror_window_h"] + p["count_followup_h"]) * HOUR)


def _reweigh(p: Any, b: Baselines) -> float:
    return float(p["reweigh_window_h"] * HOUR)


HORIZONS: dict[str, Callable[[Any, Baselines], float]] = {
    "DOCK_WEIGHT_MISMATCH": _reweigh,
    # a steady ratio is read over the mismatches left once re-weighs explained receipts
    "WEIGHT_RATIO_CONSTANT": _reweigh,
    "COUNT_VARIANCE": _counts,
    "PACK_MULTIPLE": _counts,
    "MIRRORED_VARIANCE": _counts,
    # same-sign variances are read over the variances their follow-ups leave unexplained
    "SAME_SIGN_VARIANCES": _counts,
    "RECEIPT_QTY_MISMATCH": _receipt_wait,
    "NEGATIVE_BALANCE": lambda p, b: float(b.neg_grace_s),
}
"""Reason code -> seconds after the flagged row that its verdict may still change."""

SAME_DAY = frozenset({"OFFSETTING_ADJUSTMENTS", "NOTED_EXCEPTION"})
"""Codes whose verdict is final at the end of the row's (UTC) day."""

LOOK_AHEAD = frozenset(HORIZONS) | SAME_DAY
"""Every code whose rule reads rows after the one it flags (the same-day partner of an
offsetting adjustment is on another SKU, before or after): the only codes on which an event
judged on the log before it (``Scorer.score_event``) may differ from batch scoring."""


WHOLE_LOG = frozenset({"WEIGHT_RATIO_CONSTANT", "SAME_SIGN_VARIANCES", "OVER_WEIGHT_LIMIT",
                       "OFFSETTING_ADJUSTMENTS"})
"""Codes whose rules also count over the whole log: online, the numbers in their reasons (and,
near a threshold, whether they fire) are those of the log so far."""


def horizon(codes: Iterable[str], t: int, params: Any, baselines: Baselines) -> float | None:
    """Seconds after ``t`` until a row considered by ``codes`` has its final flags.

    Returns:
        None when every one of ``codes`` is judged on the rows before (final at once).
    """
    waits = [HORIZONS[c](params, baselines) for c in codes if c in HORIZONS]
    if any(c in SAME_DAY for c in codes):
        waits.append(float(DAY - t % DAY))
    return max(waits) if waits else None
