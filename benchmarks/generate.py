"""Generator throughput: simulated transactions per second at a few sizes.

Usage: python benchmarks/generate.py [--days D --skus S] [--profile NAME | --profiles]
(default: three sizes, reference profile; ``--profiles``: every site profile at 30 days,
300 SKUs)
"""

from __future__ import annotations

import argparse
import time

from sim.generator import GeneratorConfig, generate
from sim.generator.profiles import PROFILES

SIZES = [(30, 300), (60, 1000), (90, 1500)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int)
    parser.add_argument("--skus", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", default="reference", choices=list(PROFILES))
    parser.add_argument("--profiles", action="store_true", help="every profile, 30 d / 300")
    args = parser.parse_args()
    sizes = [(args.days, args.skus)] if args.days and args.skus else SIZES
    runs = ([(name, 30, 300) for name in PROFILES] if args.profiles
            else [(args.profile, d, s) for d, s in sizes])
    print(f"{'profile':>14} {'days':>5} {'skus':>6} {'rows':>10} {'labels':>7} {'seconds':>8} "
          f"{'rows/s':>10}")
    for profile, days, skus in runs:
        start = time.perf_counter()
        ds = generate(GeneratorConfig(seed=args.seed, days=days, skus=skus, profile=profile))
        took = time.perf_counter() - start
        rows = len(ds.transactions)
        labels = 0 if ds.labels is None else len(ds.labels)
        print(f"{profile:>14} {days:>5} {skus:>6} {rows:>10,} {labels:>7} {took:>8.1f} "
              f"{rows / took:>10,.0f}")


if __name__ == "__main__":
    main()
