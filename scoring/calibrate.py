"""``python -m scoring.calibrate``: fit the risk calibration on labelled generated logs.

Scores generator seeds 1-9 of the training profiles (``sim.generator.profiles``; the
seeds cycle through them; benign background on) with uncalibrated strengths, then fits,
per reason code, an isotonic curve from strength (the code's best in an incident: the flags
of one incident are one observation, not many) to the share of such incidents that cover a
real (non-LEGITIMATE) labelled case, and a logistic (Platt) curve from the log-odds
of an incident's combined evidence to the share of such incidents that are real. Held-out
profiles and seeds >= 100 are kept for evaluation (benchmarks/scorer.py, the eval suite);
:func:`collect` refuses them.

Each isotonic step is shrunk towards a half (Laplace: ``(real + 1) / (n + 2)`` over the
incidents of the step), so a code that was always real in 30 training incidents reads 0.97,
not a certainty, and a code seen in hundreds reads closer to its share: risk keeps ranking
where raw shares would all read 1.00.

Risk is for sites Tally has never seen, so the incident curve is fitted *across sites*: each
training profile's incidents get their evidence from code curves fitted on the other
profiles only (stacking), and the logistic curve's strength is chosen by leaving one
profile out at a time: the most regularised (flattest) curve whose mean log-loss on the
left-out profiles is within one standard error of the best (the one-standard-error rule).
On a site the curves never saw, a flag that was always real on the training sites is not
a certainty; the flatter curve keeps incidents apart instead of reading most of them 1.00.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import numpy as np
from sklearn.isotonic import IsotonicRegression

from scoring.calibration import DEFAULT_PATH, Calibration, combine, logit
from scoring.evaluate import case_txns
from scoring.scorer import Scorer
from sim.generator import GeneratorConfig, generate
from sim.generator.profiles import HELD_OUT_PROFILES, refuse_held_out, training_profile

TRAIN_SEEDS = tuple(range(1, 10))


def _curve(x: list[float], y: list[float], points: int = 24) -> tuple[list[float], list[float]]:
    """Isotonic curve of ``y`` on ``x`` at up to ``points`` quantiles, each step shrunk."""
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(xs, ys)
    fitted = iso.predict(xs)
    steps, index = np.unique(fitted, return_inverse=True)
    n = np.bincount(index)
    real = np.bincount(index, weights=ys)
    shrunk = np.maximum.accumulate((real + 1) / (n + 2))  # still rising with strength
    grid = np.unique(np.quantile(xs, np.linspace(0, 1, points)))
    out = np.interp(iso.predict(grid), steps, shrunk)
    return [round(float(v), 4) for v in grid], [round(float(v), 4) for v in out]


STRENGTHS = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)
"""Inverse L2 strengths of the logistic incident curve tried, loosest first."""


def _platt(evidence: list[float], real: list[float], strength: float = 1.0
           ) -> tuple[float, float]:
    """Slope and intercept of P(real) = sigmoid(a * logit(evidence) + b).

    ``strength`` is the inverse L2 penalty on the slope (smaller: flatter).
    """
    from sklearn.linear_model import LogisticRegression

    z = logit(np.asarray(evidence, dtype=float)).reshape(-1, 1)
    model = LogisticRegression(C=strength).fit(z, np.asarray(real, dtype=int))
    return round(float(model.coef_[0][0]), 4), round(float(model.intercept_[0]), 4)


def _code_curves(per_code: dict[str, tuple[list[float], list[float]]]) -> Calibration:
    cal = Calibration()
    for code, (x, y) in per_code.items():
        cal.codes[code] = _curve(x, y)
    return cal


def _evidence(cal: Calibration, incidents: list[tuple[dict[str, float], bool]]) -> list[float]:
    """Each incident's evidence from its calibrated best strength per code (as scored)."""
    return [combine(cal.flag_probability(np.array(list(best)), np.array(list(best.values()))))
            for best, _ in incidents]


def _pooled(parts: list[tuple[dict, list]]) -> tuple[dict, list]:
    per_code: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    incidents: list[tuple[dict[str, float], bool]] = []
    for codes, incs in parts:
        for code, (x, y) in codes.items():
            per_code[code][0].extend(x)
            per_code[code][1].extend(y)
        incidents += incs
    return dict(per_code), incidents


def cross_site_evidence(by_profile: dict[str, tuple[dict, list]]
                        ) -> dict[str, tuple[list[float], list[float]]]:
    """Per profile: its incidents' evidence and whether each was real.

    The evidence comes from code curves fitted on the other profiles only.
    """
    out = {}
    for name, (_, incidents) in by_profile.items():
        others = _pooled([part for other, part in by_profile.items() if other != name])
        out[name] = (_evidence(_code_curves(others[0]), incidents),
                     [float(hit) for _, hit in incidents])
    return out


def choose_strength(oof: dict[str, tuple[list[float], list[float]]]
                    ) -> tuple[float, dict[float, float]]:
    """The flattest curve within one standard error of the best left-out-profile log-loss.

    Returns the chosen strength and the mean log-loss of every strength tried.
    """
    losses: dict[float, list[float]] = {}
    for c in STRENGTHS:
        for name, (ev, real) in oof.items():
            train = [(e, r) for other, (es, rs) in oof.items() if other != name
                     for e, r in zip(es, rs, strict=True)]
            if len({r for _, r in train}) < 2 or not ev:
                continue
            a, b = _platt([e for e, _ in train], [r for _, r in train], c)
            p = np.clip(1.0 / (1.0 + np.exp(-(a * logit(np.asarray(ev)) + b))), 1e-6, 1 - 1e-6)
            y = np.asarray(real)
            loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
            losses.setdefault(c, []).append(float(loss))
    if not losses:
        return 1.0, {}
    mean = {c: float(np.mean(v)) for c, v in losses.items()}
    best = min(mean, key=lambda c: mean[c])
    se = float(np.std(losses[best]) / np.sqrt(len(losses[best])))
    chosen = min(c for c in mean if mean[c] <= mean[best] + se)
    return chosen, {c: round(v, 4) for c, v in mean.items()}


def collect(seeds: tuple[int, ...], days: int, skus: int, profile: str | None = None
            ) -> tuple[dict, list]:
    """Per code (best strength in an incident, real) pairs and per incident the same dict.

    Each seed simulates its training profile, or ``profile`` for all when given.
    """
    per_code: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    incidents: list[tuple[dict[str, float], bool]] = []
    for seed in seeds:
        if seed >= 100:
            raise ValueError(f"seed {seed} is an eval seed; calibration uses seeds below 100")
        cfg = GeneratorConfig(seed=seed, days=days, skus=skus, profile=profile or
                              training_profile(seed))
        refuse_held_out(cfg.profile, "risk calibration")
        data = generate(cfg)
        labels = data.labels
        assert labels is not None  # the generator labels every case it injects
        real = labels[labels["root_cause"] != "LEGITIMATE"]
        real_txns = {t for ts in case_txns(real).values() for t in ts}
        result = Scorer(calibration=Calibration()).fit(data).score_batch(data)
        for inc in result.incidents:
            hit = any(t in real_txns for t in inc.txn_ids)
            best: dict[str, float] = {}
            for f in inc.flags:
                best[f.code] = max(best.get(f.code, 0.0), f.score)
            for code, score in best.items():  # one pair per incident: flags of one are one
                per_code[code][0].append(score)
                per_code[code][1].append(float(hit))
            incidents.append((best, hit))
        print(f"seed {seed} ({cfg.profile}): {len(data.transactions):,} rows, "
              f"{len(result.incidents)} incidents")
    return per_code, incidents


def main() -> None:
    """Fit and write scoring/calibration.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--skus", type=int, default=300)
    parser.add_argument("--out", default=str(DEFAULT_PATH))
    args = parser.parse_args()
    names = sorted({training_profile(s) for s in TRAIN_SEEDS})
    by_profile = {name: collect(tuple(s for s in TRAIN_SEEDS if training_profile(s) == name),
                                args.days, args.skus) for name in names}
    per_code, incidents = _pooled(list(by_profile.values()))
    cal = _code_curves(per_code)
    oof = cross_site_evidence(by_profile)
    strength, losses = choose_strength(oof)
    evidence = [e for ev, _ in oof.values() for e in ev]
    hits = [r for _, rs in oof.values() for r in rs]
    cal.incident = _curve(evidence, hits)
    cal.incident_platt = _platt(evidence, hits, strength)
    cal.meta = {"seeds": list(TRAIN_SEEDS), "days": args.days, "skus": args.skus,
                "profiles": names, "flags": sum(len(v[0]) for v in per_code.values()),
                "incidents": len(incidents), "incident_strength": strength,
                "left_out_profile_log_loss": {str(c): v for c, v in losses.items()},
                "held_out": f"seeds >= 100; profiles {', '.join(HELD_OUT_PROFILES)}"}
    cal.save(args.out)
    print(f"wrote {args.out}: {len(cal.codes)} codes, {len(incidents)} incidents")


if __name__ == "__main__":
    main()
