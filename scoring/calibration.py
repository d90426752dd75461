"""Turning raw detector strengths into calibrated risk (0.9 means ~90% of such are real).

``calibration.json`` (written by ``python -m scoring.calibrate``) holds, per reason code, an
isotonic curve from raw strength to the share of such flags that belonged to a labelled
problem, and one curve from an incident's combined evidence to the share of such incidents
that were real problems. Without a file (or for a code it has never seen) the raw strength
is used as it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_PATH = Path(__file__).with_name("calibration.json")
IDENTITY = ([0.0, 1.0], [0.0, 1.0])


@dataclass
class Calibration:
    """Isotonic curves (x, y points) per reason code and for incidents.

    Attributes:
        codes: reason code -> (raw strengths, calibrated precisions).
        incident: (combined evidence, share of real incidents).
        meta: how the curves were made (seeds, counts).
    """

    codes: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    incident: tuple[list[float], list[float]] = ([0.0, 1.0], [0.0, 1.0])
    meta: dict[str, object] = field(default_factory=dict)

    @staticmethod
    def load(path: str | Path | None = None) -> Calibration:
        """Read a calibration file; the packaged one by default, neutral when absent."""
        p = Path(path) if path is not None else DEFAULT_PATH
        if not p.exists():
            return Calibration()
        raw = json.loads(p.read_text())
        return Calibration(codes={k: (v[0], v[1]) for k, v in raw["codes"].items()},
                           incident=(raw["incident"][0], raw["incident"][1]),
                           meta=raw.get("meta", {}))

    def save(self, path: str | Path = DEFAULT_PATH) -> None:
        """Write the curves as small, readable JSON."""
        data = {
            "meta": self.meta,
            "codes": {
                k: [list(map(float, x)), list(map(float, y))]
                for k, (x, y) in sorted(self.codes.items())
            },
            "incident": [list(map(float, self.incident[0])), list(map(float, self.incident[1]))],
        }
        Path(path).write_text(json.dumps(data, indent=1) + "\n")

    def flag_probability(self, codes: np.ndarray, raw: np.ndarray) -> np.ndarray:
        """Calibrated probability per flag from its code and raw strength."""
        out = np.empty(len(raw))
        for code in np.unique(codes):
            sel = codes == code
            x, y = self.codes.get(str(code), IDENTITY)
            out[sel] = np.interp(raw[sel], x, y)
        return np.clip(out, 0.0, 1.0)

    def incident_risk(self, evidence: np.ndarray) -> np.ndarray:
        """Calibrated risk of incidents from their combined flag evidence (noisy-or)."""
        x, y = self.incident
        return np.clip(np.interp(evidence, x, y), 0.0, 1.0)
