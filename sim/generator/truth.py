"""End-of-log truth of a simulated site: where the shelf and the record part at the close.

The simulation keeps two balances per (sku, location) (:mod:`sim.generator.ledger`):
``system`` (what the WMS believes) and ``physical`` (what is on the shelf). Training and
evaluating the cycle-count plan need both at the end of the log; the planner itself only
ever sees the dataset. Kept out of the dataset folder a site writes, so nothing that reads
a dataset can see it.
"""

from __future__ import annotations

import pandas as pd

from sim.generator.assemble import simulate, to_dataset
from sim.generator.config import GeneratorConfig
from sim.generator.operations import Simulation
from warehouse.dataset import Dataset

TRUTH_COLUMNS = ["sku", "location", "system", "physical"]


def generate_with_truth(config: GeneratorConfig) -> tuple[Dataset, pd.DataFrame]:
    """Simulate a site; its dataset and the end-of-log truth (:func:`end_of_log_truth`)."""
    sim = simulate(config)
    return to_dataset(sim), end_of_log_truth(sim)


def end_of_log_truth(sim: Simulation) -> pd.DataFrame:
    """System and physical eaches of every (sku, location) either holds, at the log's end.

    Returns:
        Columns :data:`TRUTH_COLUMNS`, sorted by sku and location; pairs where both are 0
        are left out.
    """
    ledger = sim.ledger
    keys = sorted(k for k in set(ledger.system) | set(ledger.physical)
                  if ledger.system.get(k, 0) or ledger.physical.get(k, 0))
    return pd.DataFrame(
        [(sku, loc, ledger.system.get((sku, loc), 0), ledger.physical.get((sku, loc), 0))
         for sku, loc in keys], columns=TRUTH_COLUMNS)
