"""Every detector threshold of the scorer, with its meaning and unit, in one model.

``Scorer(params=...)`` takes a :class:`ScorerParams` or a mapping of overrides; a name the
model does not know raises (a typo must not silently fall back to the default). An operator
tunes a site through the ``TALLY_SCORER_PARAMS`` setting (a JSON object of overrides).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field


class ScorerParams(BaseModel):
    """Detector thresholds. Read by name (``params["qty_z"]``) as the detectors do."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # quantity
    qty_mad_floor: float = Field(0.35, gt=0, description="least robust scale of log(1+eaches) "
                                 "a SKU's size baseline may have (log units)")
    qty_min_history: int = Field(8, ge=1, description="history rows a SKU/type needs before "
                                 "its sizes are judged (rows)")
    qty_z: float = Field(5.0, gt=0, description="robust z of log(1+eaches) above the SKU's "
                         "median for QTY_OUTLIER (MADs)")
    qty_ratio: float = Field(4.0, gt=1, description="eaches over the SKU's typical size for "
                             "QTY_OUTLIER (ratio)")
    qty_recur: int = Field(3, ge=1, description="history rows moving at least half the size "
                           "that make a size the SKU's normal (rows)")
    velocity_ratio: float = Field(3.5, gt=1, description="pick lines in 24 h over the SKU's "
                                  "daily rate for VELOCITY_SPIKE (ratio)")
    velocity_min_lines: int = Field(8, ge=1, description="least pick lines in 24 h for "
                                    "VELOCITY_SPIKE (lines)")
    velocity_z: float = Field(4.0, gt=0, description="Poisson z of the 24 h lines above an "
                              "ordinary promotion's lift (z)")
    velocity_ordinary_lift: float = Field(2.0, ge=1, description="lift of an ordinary "
                                          "promotion that is not news (ratio)")
    velocity_min_rate: float = Field(0.5, gt=0, description="least expected pick lines per day "
                                     "of any SKU (lines/day)")
    overfill_ratio: float = Field(5.0, gt=1, description="balance a transfer leaves at a pick "
                                  "face over its usual level for BIN_OVERFILL (ratio)")
    overfill_min_eaches: float = Field(10.0, ge=0, description="least balance a pick face "
                                       "must hold for BIN_OVERFILL (eaches)")
    # stock
    negative_min_units: float = Field(2.0, ge=0, description="how far below zero a balance "
                                      "must go for NEGATIVE_BALANCE / LATE_INFLOW_HEALS (eaches)")
    unknown_stock_share: float = Field(0.02, ge=0, le=1, description="share of outbound rows "
                                       "from bins with no recorded stock above which balances "
                                       "are unknown and the stock rules stand down (share)")
    neg_grace_min_s: float = Field(600.0, ge=0, description="least grace a negative balance "
                                   "gets before it is news (seconds)")
    neg_grace_max_s: float = Field(7200.0, ge=0, description="most grace a negative balance "
                                   "gets before it is news (seconds)")
    # counts
    count_followup_h: float = Field(4.0, gt=0, description="window after a count in which a "
                                    "recount or an exact correction explains it (hours)")
    count_min_variance: float = Field(0.5, gt=0, description="least |counted - expected| that "
                                      "is a variance (eaches)")
    count_tol_min: float = Field(0.5, ge=0, description="least count tolerance (eaches)")
    count_tol_velocity: float = Field(0.1, ge=0, description="tolerance per sqrt(eaches picked "
                                      "per day) (eaches)")
    count_tol_value: float = Field(200.0, ge=0, description="most money a tolerated variance "
                                   "may be worth (currency)")
    count_explained_factor: float = Field(10.0, ge=1, description="tolerances an explained "
                                          "variance must exceed to be flagged (ratio)")
    mirror_window_h: float = Field(24.0, gt=0, description="how far apart +v / -v variances "
                                   "may be for MIRRORED_VARIANCE (hours)")
    neighbour_m: float = Field(3.0, ge=0, description="distance of neighbouring bins (metres)")
    # weight
    weight_tolerance: float = Field(1.12, gt=1, description="measured / expected weight "
                                    "beyond which a weight does not fit (ratio)")
    weight_abs_tol_kg: float = Field(0.02, ge=0, description="weight difference too small to "
                                     "matter (kg)")
    weight_noise_sigmas: float = Field(4.0, gt=0, description="site weighing noise (robust "
                                       "sigma of log measured/expected) multiples that still "
                                       "fit; widens weight_tolerance at noisy sites (sigmas)")
    weight_steady_ratio: float = Field(1.06, gt=1, description="how close a SKU's off ratios "
                                       "must be to its median for WEIGHT_RATIO_CONSTANT (ratio)")
    weight_steady_min_rows: int = Field(2, ge=2, description="off-weight rows of one SKU for "
                                        "WEIGHT_RATIO_CONSTANT (rows)")
    reweigh_window_h: float = Field(6.0, ge=0, description="window in which a plausible "
                                    "re-weigh explains a dock-scale misread (hours)")
    # devices, sync
    double_scan_s: float = Field(15.0, gt=0, description="same scan again on one scanner "
                                 "within this is DOUBLE_SCAN (seconds)")
    travel_min_m: float = Field(20.0, ge=0, description="least distance for IMPOSSIBLE_TRAVEL "
                                "(metres)")
    travel_speed_ms: float = Field(8.0, gt=0, description="speed nobody walks or drives in an "
                                   "aisle (metres/second)")
    repeated_line_min_refs: int = Field(10, ge=1, description="refs with an identical line "
                                        "repeated inside them before repeats are the feed's "
                                        "pattern, REPEATED_LINE_IN_REF (refs)")
    repeated_line_ref_share: float = Field(0.005, ge=0, le=1, description="share of refs with "
                                           "several lines that repeat one, above which repeats "
                                           "are the feed's pattern (share)")
    # receiving
    receipt_rel_tolerance: float = Field(0.0, ge=0, description="|received - ASN| / ASN "
                                         "tolerated (share)")
    receipt_open_h: float = Field(36.0, ge=0, description="most time a short ASN line is "
                                  "left open for a later part (hours)")
    split_wait_factor: float = Field(1.25, ge=0, description="wait for a later part, in "
                                     "multiples of the site's split-delivery gap (ratio)")
    # adjustments
    writeoff_window_d: float = Field(14.0, gt=0, description="window for repeated write-offs "
                                     "of one item by one user (days)")
    writeoff_repeat: int = Field(3, ge=2, description="write-offs in the window for "
                                 "WRITE_OFF_PATTERN (rows)")
    writeoff_review_value: float = Field(250.0, ge=0, description="one high-value write-off "
                                         "worth this is flagged (currency)")
    high_value_quantile: float = Field(0.9, ge=0, le=1, description="unit-cost quantile of the "
                                       "item master above which an item is high value (share)")
    adjust_ratio: float = Field(25.0, gt=1, description="|adjustment| over the SKU's typical "
                                "movement for LARGE_ADJUSTMENT (ratio)")
    adjust_min_eaches: float = Field(20.0, ge=0, description="least |adjustment| for "
                                     "LARGE_ADJUSTMENT (eaches)")
    offset_chance: float = Field(0.05, gt=0, le=1, description="most expected chance matches "
                                 "of an adjustment's size that day for OFFSETTING_ADJUSTMENTS "
                                 "(expected pairs)")
    # locations
    overweight_estimate_margin: float = Field(1.5, ge=1, description="estimated load over the "
                                              "limit flagged when no scale weighed it (ratio)")
    overweight_place_max: int = Field(2, ge=1, description="most loads over one location's "
                                      "limit in the log that are still news; a location "
                                      "overloaded more often is how the site uses it, or its "
                                      "limit is wrong in the master (loads)")
    face_min_picks: int = Field(3, ge=1, description="history picks that make a face the "
                                "item's own (picks)")
    rare_type_max: int = Field(3, ge=0, description="most transfers of a SKU into a location "
                               "type for it to be rare (rows)")
    # users
    off_hours_min_rows: int = Field(40, ge=1, description="rows a user needs before their "
                                    "usual hours are known (rows)")
    # site adaptation
    normal_practice_share: float = Field(0.3, gt=0, le=1, description="share of its eligible "
                                         "rows above which a rule describes the site's normal "
                                         "practice and is re-thresholded or stood down (share)")
    normal_practice_min_rows: int = Field(200, ge=1, description="eligible rows a rule needs "
                                          "before its firing share is judged (rows)")
    outlier_share: float = Field(0.0005, gt=0, le=1, description="share of its eligible rows "
                                 "an outlier rule (robust z, lift over a rate) may fire on before "
                                 "it is re-thresholded to the site's most extreme rows (share)")
    rethreshold_quantile: float = Field(0.95, gt=0, lt=1, description="a re-thresholded rule "
                                        "keeps firings above this quantile of its strengths at "
                                        "the site (share)")
    # incidents, multivariate, online
    review_risk: float = Field(0.5, ge=0, le=1, description="incident risk for REVIEW (0..1)")
    stop_risk: float = Field(0.85, ge=0, le=1, description="incident risk for STOP (0..1)")
    tail_quantile: float = Field(1.0, ge=0, le=1, description="history quantile of the "
                                 "multivariate tail score above which a row is flagged (share)")
    online_window_h: float = Field(48.0, gt=0, description="recent log kept for scoring one "
                                   "event (hours)")

    def __getitem__(self, name: str) -> float:
        return getattr(self, name)


def resolve(params: ScorerParams | Mapping[str, float] | None) -> ScorerParams:
    """The params to use: given ones, overrides on the operator's settings, or the defaults.

    Raises:
        pydantic.ValidationError: on an unknown name or an out-of-range value.
    """
    if isinstance(params, ScorerParams):
        return params
    from warehouse.settings import get_settings

    base = dict(get_settings().scorer_params)
    return ScorerParams(**{**base, **dict(params or {})})
