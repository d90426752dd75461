"""Risk calibration across sites: stacking by profile and the one-standard-error rule."""

from __future__ import annotations

import numpy as np

from scoring.calibrate import STRENGTHS, choose_strength, cross_site_evidence


def _profile(rng: np.random.Generator, n: int, shift: float) -> tuple[list[float], list[float]]:
    """Evidence that ranks real incidents higher, less sharply on some sites (``shift``)."""
    real = rng.random(n) < 0.7
    z = np.where(real, 3.0, -1.0) + rng.normal(0, 1.5 + shift, n)
    return list(1 / (1 + np.exp(-z))), list(real.astype(float))


def test_the_flattest_curve_within_one_standard_error_of_the_best_is_chosen() -> None:
    rng = np.random.default_rng(7)
    oof = {f"site{k}": _profile(rng, 120, k) for k in range(4)}
    chosen, losses = choose_strength(oof)
    assert set(losses) == set(STRENGTHS)
    best = min(losses, key=lambda c: losses[c])
    assert chosen <= best and losses[chosen] >= losses[best]
    assert all(losses[c] > losses[chosen] for c in STRENGTHS if c < chosen)  # none flatter fits


def test_each_profiles_evidence_comes_from_the_other_profiles_curves() -> None:
    # code X is always real on site a and never on site b: a's incidents, scored by b's
    # curve, read low, and b's, scored by a's, read high
    a = ({"X": ([0.9] * 20, [1.0] * 20)}, [({"X": 0.9}, True)] * 20)
    b = ({"X": ([0.9] * 20, [0.0] * 20)}, [({"X": 0.9}, False)] * 20)
    oof = cross_site_evidence({"a": a, "b": b})
    assert max(oof["a"][0]) < 0.1 and min(oof["b"][0]) > 0.9
    assert oof["a"][1] == [1.0] * 20
