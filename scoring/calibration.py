"""Turning raw detector strengths into calibrated risk (0.9 means ~90% of such are real).

``calibration.json`` (written by ``python -m scoring.calibrate``) holds, per reason code, an
isotonic curve from raw strength to the share of such flags that belonged to a labelled
problem (each step shrunk towards a half by its count, so no code reads a certainty), and a
logistic curve (Platt: slope and intercept on the log-odds) from an incident's combined
evidence to the share of such incidents that were real problems; a logistic curve keeps
incidents with more or stronger evidence above those with less, where a step curve would
give most of them 1.00. Without a file (or for a code it has never seen) the raw strength
is used as it is; a file without the logistic curve uses its step curve for incidents.

An incident's evidence (:func:`combine`) is a noisy-or over its codes in which each further
code counts less: the flags of one incident describe one problem, they are not independent
witnesses, so a fourth near-certain code does not make the incident a thousand times surer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DEFAULT_PATH = Path(__file__).with_name("calibration.json")
IDENTITY = ([0.0, 1.0], [0.0, 1.0])
_EPS = 1e-6


def logit(p: np.ndarray) -> np.ndarray:
    """Log-odds of probabilities (clipped away from 0 and 1)."""
    q = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(q / (1 - q))


def combine(probabilities: Iterable[float]) -> float:
    """Evidence of an incident from its codes' calibrated probabilities (best per code).

    ``1 - prod((1 - p_k) ** (1 / k**2))`` over the probabilities ranked high to low
    (k = 1, 2, ...): the strongest code counts fully, the next a quarter, and so on.
    """
    ranked = sorted(probabilities, reverse=True)
    log_doubt = sum(math.log(max(1.0 - p, _EPS)) / (k + 1) ** 2 for k, p in enumerate(ranked))
    return 1.0 - math.exp(log_doubt)


@dataclass
class Calibration:
    """Isotonic curves (x, y points) per reason code and for incidents.

    Attributes:
        codes: reason code -> (raw strengths, calibrated precisions).
        incident: (combined evidence, share of real incidents), the step curve.
        incident_platt: (slope, intercept) of the logistic curve on the evidence's
            log-odds; None to use the step curve.
        meta: how the curves were made (seeds, counts).
    """

    codes: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    incident: tuple[list[float], list[float]] = ([0.0, 1.0], [0.0, 1.0])
    incident_platt: tuple[float, float] | None = None
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
                           incident_platt=tuple(raw["incident_platt"])
                           if raw.get("incident_platt") else None,
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
        if self.incident_platt is not None:
            data["incident_platt"] = list(map(float, self.incident_platt))
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
        if self.incident_platt is not None:
            a, b = self.incident_platt
            z = a * logit(evidence) + b
            return np.clip(1.0 / (1.0 + np.exp(-z)), 0.0, 1.0)
        x, y = self.incident
        return np.clip(np.interp(evidence, x, y), 0.0, 1.0)
