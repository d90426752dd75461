"""``python -m scoring.calibrate``: fit the risk calibration on labelled generated logs.

Scores generator seeds 1-9 (benign background on) with uncalibrated strengths, then fits,
per reason code, an isotonic curve from strength to the share of such flags whose incident
covers a real (non-LEGITIMATE) labelled case, and one curve from an incident's combined
evidence to the share of such incidents that are real. Seeds >= 100 are kept for
evaluation (benchmarks/scorer.py) and never used here.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
from sklearn.isotonic import IsotonicRegression

from scoring.calibration import DEFAULT_PATH, Calibration
from scoring.evaluate import case_txns
from scoring.scorer import Scorer
from sim.generator import GeneratorConfig, generate

TRAIN_SEEDS = tuple(range(1, 10))


def _curve(x: list[float], y: list[float], points: int = 24) -> tuple[list[float], list[float]]:
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
    grid = np.unique(np.quantile(np.asarray(x), np.linspace(0, 1, points)))
    ys = iso.predict(grid)
    return [round(float(v), 4) for v in grid], [round(float(v), 4) for v in ys]


def collect(seeds: tuple[int, ...], days: int, skus: int) -> tuple[dict, list]:
    """Per code (strength, real) pairs and per incident (best strength per code, real)."""
    per_code: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    incidents: list[tuple[dict[str, float], bool]] = []
    for seed in seeds:
        data = generate(GeneratorConfig(seed=seed, days=days, skus=skus))
        labels = data.labels
        real = labels[labels["root_cause"] != "LEGITIMATE"]
        real_txns = {t for ts in case_txns(real).values() for t in ts}
        result = Scorer(calibration=Calibration()).fit(data).score_batch(data)
        for inc in result.incidents:
            hit = any(t in real_txns for t in inc.txn_ids)
            best: dict[str, float] = {}
            for f in inc.flags:
                xs, ys = per_code[f.code]
                xs.append(f.score)
                ys.append(float(hit))
                best[f.code] = max(best.get(f.code, 0.0), f.score)
            incidents.append((best, hit))
        print(f"seed {seed}: {len(data.transactions):,} rows, {len(result.incidents)} incidents")
    return per_code, incidents


def main() -> None:
    """Fit and write scoring/calibration.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--out", default=str(DEFAULT_PATH))
    args = parser.parse_args()
    per_code, incidents = collect(TRAIN_SEEDS, args.days, args.skus)
    cal = Calibration(meta={"seeds": list(TRAIN_SEEDS), "days": args.days, "skus": args.skus,
                            "flags": sum(len(v[0]) for v in per_code.values()),
                            "incidents": len(incidents), "held_out": "seeds >= 100"})
    for code, (x, y) in per_code.items():
        cal.codes[code] = _curve(x, y)
    evidence = [1.0 - float(np.prod([1.0 - cal.flag_probability(np.array([c]), np.array([s]))[0]
                                     for c, s in best.items()])) for best, _ in incidents]
    cal.incident = _curve(evidence, [float(hit) for _, hit in incidents])
    cal.save(args.out)
    print(f"wrote {args.out}: {len(cal.codes)} codes, {len(incidents)} incidents")


if __name__ == "__main__":
    main()
