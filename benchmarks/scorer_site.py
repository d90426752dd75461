"""What the scorer makes of one site's log: flags and incidents by reason code, its rules.

Loads a dataset folder (e.g. the real export ``../shared/data/real-online-retail-h1``), fits
the scorer on it and scores it (no triage), then prints flags by reason code, incidents by
their reason codes and severity, the fitted per-rule report (eligible rows, fired, share,
action), and how many adjustments carrying an operator note (other than the item's own
description) are in an incident.

Usage: python benchmarks/scorer_site.py DIR
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import pandas as pd

from scoring import Scorer
from warehouse.loader import load_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", help="dataset folder")
    args = parser.parse_args()
    t0 = time.perf_counter()
    data = load_dataset(args.directory).dataset
    t1 = time.perf_counter()
    scorer = Scorer().fit(data)
    result = scorer.score_batch(data)
    t2 = time.perf_counter()
    tx = data.transactions
    print(f"{len(tx):,} transactions; load {t1 - t0:.1f}s, fit+score {t2 - t1:.1f}s")
    print(f"flags {len(result.flags):,}, incidents {len(result.incidents):,}")
    print("flags by reason code:", dict(Counter(f.code for f in result.flags).most_common()))
    by_codes = Counter("+".join(sorted(set(i.codes))) for i in result.incidents)
    print("incidents by reason codes:", dict(by_codes.most_common()))
    print("incidents by severity:", dict(Counter(i.severity.value for i in result.incidents)))
    with pd.option_context("display.width", 250, "display.max_colwidth", 120):
        print(scorer.detector_report_.drop(columns="min_strength").to_string(index=False))
    if "note" in tx:
        desc = data.items.set_index("sku")["description"].fillna("").str.strip().str.upper()
        adj = tx[(tx["type"] == "ADJUSTMENT") & tx["note"].notna()]
        noted = adj[adj["note"].str.strip().str.upper() != adj["sku"].map(desc)]
        covered = {t for i in result.incidents for t in i.txn_ids}
        print(f"adjustments with an operator note: {len(noted):,}, in an incident: "
              f"{int(noted['txn_id'].isin(covered).sum()):,}")


if __name__ == "__main__":
    main()
