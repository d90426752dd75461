"""Knobs of the demo warehouse generator.

Every knob has a default that makes a ~30-day, ~300-SKU site with 20-60k transactions and
about eight labelled cases per root cause. Volume scales with ``days * skus``.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sim.generator.profiles import get_profile
from warehouse.contract import RootCause


class GeneratorConfig(BaseModel):
    """What to simulate: size, randomness, anomaly mix and benign noise.

    Attributes:
        seed: seed of the single numpy Generator that drives the whole simulation.
        days: simulated days, starting at ``start`` (UTC midnight).
        skus: number of items in the catalogue.
        start: first simulated day.
        anomalies: labelled cases to inject, split evenly over the seven root causes.
        anomaly_counts: explicit cases per root cause; overrides ``anomalies``.
        noise: multiplier on the rate of every benign pattern (0 = a clean log).
        lines_per_sku_day: average order lines per SKU and day before seasonality.
        count_fraction: share of pick faces cycle-counted each day.
        return_rate: customer returns per order line.
        operators: operators on the payroll; None sizes the crew from the volume.
        shift_swap_rate: chance per operator and day of working another shift.
        overtime_rate: share of order lines picked in overtime after the shift ends.
        with_weights: unit weights, location weight limits and scale weights in the data.
        with_coordinates: x/y floor coordinates on locations.
        with_notes: free-text operator notes on some rows.
        profile: the site's conventions (:mod:`sim.generator.profiles`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 0
    days: int = Field(default=30, ge=7, le=3650)
    skus: int = Field(default=300, ge=40, le=50_000)
    start: date = date(2025, 3, 3)
    anomalies: int = Field(default=56, ge=0, le=5_000)
    anomaly_counts: dict[RootCause, int] | None = None
    noise: float = Field(default=1.0, ge=0.0, le=5.0)
    lines_per_sku_day: float = Field(default=2.8, gt=0.0, le=100.0)
    count_fraction: float = Field(default=0.03, ge=0.0, le=1.0)
    return_rate: float = Field(default=0.015, ge=0.0, le=0.5)
    operators: int | None = Field(default=None, ge=8, le=5_000)
    shift_swap_rate: float = Field(default=0.04, ge=0.0, le=1.0)
    overtime_rate: float = Field(default=0.03, ge=0.0, le=0.5)
    with_weights: bool = True
    with_coordinates: bool = True
    with_notes: bool = True
    profile: str = "reference"

    @model_validator(mode="after")
    def _counts_are_non_negative(self) -> GeneratorConfig:
        if self.anomaly_counts and any(n < 0 for n in self.anomaly_counts.values()):
            raise ValueError("anomaly_counts must be >= 0 per root cause")
        get_profile(self.profile)
        return self

    def cases_per_cause(self) -> dict[RootCause, int]:
        """Labelled cases to inject per root cause, in RootCause order."""
        causes = list(RootCause)
        if self.anomaly_counts is not None:
            return {rc: int(self.anomaly_counts.get(rc, 0)) for rc in causes}
        base, extra = divmod(self.anomalies, len(causes))
        return {rc: base + (1 if i < extra else 0) for i, rc in enumerate(causes)}
