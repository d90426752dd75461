"""The detectors, in the order they run.

Each is a module with ``needs``, ``detect`` and ``eligible`` (reason code -> rows it considers).
"""

from __future__ import annotations

from scoring.detectors import (
    adjustments,
    counts,
    devices,
    locations,
    multivariate,
    quantity,
    receiving,
    stock,
    sync,
    weight,
)
from scoring.detectors.base import Context, Detector

DETECTORS: tuple[Detector, ...] = tuple(
    Detector(name, mod.needs, mod.detect, mod.eligible) for name, mod in (
        ("quantity", quantity),
        ("counts", counts),
        ("weight", weight),
        ("devices", devices),
        ("stock", stock),
        ("receiving", receiving),
        ("adjustments", adjustments),
        ("locations", locations),
        ("sync", sync),
        ("multivariate", multivariate),
    )
)

__all__ = ["DETECTORS", "Context", "Detector"]
