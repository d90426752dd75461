"""Scorer benchmark: throughput, detection quality, online latency and memory.

On held-out generator seeds (>= 100; calibration uses 1-9) with the benign background on:
- fit+score throughput of the scorer vs scikit-learn IsolationForest (100 trees) on the same
  rows and features;
- case recall at incident level (overall and per root cause), incidents per 10k
  transactions, false-incident share, flags per incident;
- transaction-level PR-AUC of the scorer, IsolationForest alone and PyOD ECOD;
- score_event p50/p99 latency and peak RSS.

Usage: python benchmarks/scorer.py [--quick] [--rows N]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections import defaultdict

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score

from scoring import Scorer
from scoring.detectors.multivariate import features
from scoring.evaluate import case_txns, coverage
from scoring.scorer import _frame
from sim.generator import GeneratorConfig, generate
from warehouse.dataset import Dataset


def feature_matrix(scorer: Scorer, data: Dataset) -> tuple[pd.DataFrame, np.ndarray]:
    """The generic detectors' input: the scorer's row features plus raw numeric columns."""
    frame = _frame(data.transactions, scorer.catalog_, None)
    x = features(frame, scorer.baselines_)
    x["log_eaches"] = np.log1p(frame["eaches"].abs().fillna(0).to_numpy())
    x["hour"] = (frame["t"] % 86_400 / 3600).to_numpy()
    x["type"] = pd.factorize(frame["type"])[0]
    x["balance_after"] = frame["bal_after"].fillna(0).to_numpy()
    return x, frame["txn_id"].to_numpy()


def online_latency(data: Dataset, events: int, *, settled: bool = False) -> np.ndarray:
    """Seconds per score_event (``settled``: stream_event), streaming the events after a fit
    on the earlier days."""
    tx = data.transactions
    cut = tx["ts"].min() + (tx["ts"].max() - tx["ts"].min()) * 0.8
    history = Dataset(data.items, data.locations, tx[tx["ts"] < cut].reset_index(drop=True))
    scorer = Scorer().fit(history)
    rest = tx[tx["ts"] >= cut].iloc[:events].drop(columns="eaches")
    rest = rest.assign(ts=rest["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    records = rest.astype(object).where(rest.notna(), None).to_dict("records")
    took = []
    score = scorer.stream_event if settled else scorer.score_event
    for rec in records:
        t0 = time.perf_counter()
        score(rec)
        took.append(time.perf_counter() - t0)
    return np.array(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="~85k rows, 300 online events")
    parser.add_argument("--rows", type=int, default=1_000_000, help="target rows in total")
    parser.add_argument("--events", type=int, default=2000, help="online events to time")
    args = parser.parse_args()
    target = 80_000 if args.quick else args.rows
    size = {"days": 30, "skus": 300} if args.quick else {"days": 90, "skus": 1200,
                                                           "anomalies": 140}
    events = 300 if args.quick else args.events

    totals: dict[str, float] = defaultdict(float)
    by_cause: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    y_all, s_all, if_all, ecod_all = [], [], [], []
    seed, rows = 100, 0
    last: Dataset | None = None
    while rows < target:
        t0 = time.perf_counter()
        data = generate(GeneratorConfig(seed=seed, **size))
        gen_s = time.perf_counter() - t0
        n = len(data.transactions)
        t0 = time.perf_counter()
        scorer = Scorer().fit(data)
        result = scorer.score_batch(data)
        score_s = time.perf_counter() - t0
        x, ids = feature_matrix(scorer, data)
        t0 = time.perf_counter()
        iforest = IsolationForest(n_estimators=100, random_state=0).fit(x)
        if_score = -iforest.score_samples(x)
        if_s = time.perf_counter() - t0
        from pyod.models.ecod import ECOD

        t0 = time.perf_counter()
        ecod = ECOD().fit(x.to_numpy())
        ecod_score = ecod.decision_scores_
        ecod_s = time.perf_counter() - t0
        labels = data.labels
        assert labels is not None, f"seed {seed}: the generator wrote no labels"
        cov = coverage(result.incidents, labels)
        case_ids = {t for ts in case_txns(labels).values() for t in ts}
        y = np.isin(ids, list(case_ids))
        s = result.txn_scores.set_index("txn_id")["score"].reindex(ids).to_numpy()
        y_all.append(y)
        s_all.append(s)
        if_all.append(if_score)
        ecod_all.append(ecod_score)
        for cause, (k, c) in cov.by_cause.items():
            by_cause[cause][0] += k
            by_cause[cause][1] += c
        for name, v in (("rows", n), ("score_s", score_s), ("if_s", if_s), ("ecod_s", ecod_s),
                        ("cases", cov.cases), ("covered", cov.covered),
                        ("incidents", cov.incidents), ("false", cov.false_incidents),
                        ("flags", len(result.flags)), ("gen_s", gen_s)):
            totals[name] += v
        print(f"seed {seed}: {n:,} rows, scorer {score_s:.1f}s, IF {if_s:.1f}s, ECOD {ecod_s:.1f}s,"
              f" recall {cov.recall:.3f}, incidents {cov.incidents}, false {cov.false_incidents},"
              f" skipped {sorted(result.skipped)}", flush=True)
        rows += n
        seed += 1
        last = data
    assert last is not None
    lat = online_latency(last, events)
    y = np.concatenate(y_all)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    n = int(totals["rows"])  # a sum of row counts
    print()
    print(f"held-out seeds 100-{seed - 1}, benign background on; {n:,.0f} transactions")
    print(f"{'':28}{'scorer':>12}{'IsolationF.':>12}{'ECOD':>12}")
    print(f"{'fit+score txn/s':28}{n / totals['score_s']:>12,.0f}{n / totals['if_s']:>12,.0f}"
          f"{n / totals['ecod_s']:>12,.0f}")
    print(f"{'txn-level PR-AUC':28}{average_precision_score(y, np.concatenate(s_all)):>12.3f}"
          f"{average_precision_score(y, np.concatenate(if_all)):>12.3f}"
          f"{average_precision_score(y, np.concatenate(ecod_all)):>12.3f}")
    print(f"scorer vs IsolationForest speed: {totals['if_s'] / totals['score_s']:.2f}x")
    print(f"case recall (incident level): {totals['covered'] / totals['cases']:.3f} "
          f"({totals['covered']:.0f}/{totals['cases']:.0f})")
    for cause, (k, c) in sorted(by_cause.items()):
        print(f"  {cause:18} {c}/{k} = {c / k:.3f}")
    real = [(k, c) for cause, (k, c) in by_cause.items() if cause != "LEGITIMATE"]
    real_recall = sum(c for _, c in real) / sum(k for k, _ in real)
    print(f"case recall without LEGITIMATE: {real_recall:.3f}")
    print(
        f"incidents per 10k txns: {totals['incidents'] / n * 1e4:.2f}; false-incident share: "
        f"{totals['false'] / max(totals['incidents'], 1):.3f} "
        f"({totals['false']:.0f}/{totals['incidents']:.0f}); flags per incident: "
        f"{totals['flags'] / max(totals['incidents'], 1):.1f}"
    )
    print(
        f"score_event latency over {len(lat)} events: p50 {np.percentile(lat, 50) * 1e3:.2f} ms,"
        f" p99 {np.percentile(lat, 99) * 1e3:.2f} ms"
    )
    print(
        f"peak RSS: {rss_mb:,.0f} MB (generator included); generation took {totals['gen_s']:.0f}s"
    )


if __name__ == "__main__":
    main()
