"""Generator throughput: simulated transactions per second at a few sizes.

Usage: python benchmarks/generate.py [--days D --skus S ...] (default: three sizes)
"""

from __future__ import annotations

import argparse
import time

from sim.generator import GeneratorConfig, generate

SIZES = [(30, 300), (60, 1000), (90, 1500)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int)
    parser.add_argument("--skus", type=int)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sizes = [(args.days, args.skus)] if args.days and args.skus else SIZES
    print(f"{'days':>5} {'skus':>6} {'rows':>10} {'labels':>7} {'seconds':>8} {'rows/s':>10}")
    for days, skus in sizes:
        start = time.perf_counter()
        ds = generate(GeneratorConfig(seed=args.seed, days=days, skus=skus))
        took = time.perf_counter() - start
        rows = len(ds.transactions)
        labels = 0 if ds.labels is None else len(ds.labels)
        print(f"{days:>5} {skus:>6} {rows:>10,} {labels:>7} {took:>8.1f} {rows / took:>10,.0f}")


if __name__ == "__main__":
    main()
