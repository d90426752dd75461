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
from sim.generator.profiles import get_profile
from warehouse.dataset import Dataset

TRUTH_COLUMNS = ["sku", "location", "system", "physical"]


def generate_with_truth(config: GeneratorConfig) -> tuple[Dataset, pd.DataFrame]:
    """Simulate a site; its dataset and the end-of-log truth (:func:`end_of_log_truth`).

    Raises:
        ValueError: the profile is an order export (one location, no shelf to count).
    """
    if get_profile(config.profile).kind != "dc":
        raise ValueError(f"profile {config.profile!r} is an order export: it has no shelf "
                         "balance to compare")
    sim = simulate(config)
    data = to_dataset(sim)
    return data, end_of_log_truth(sim, data)


def end_of_log_truth(sim: Simulation, data: Dataset) -> pd.DataFrame:
    """System and physical eaches of every (sku, location) either holds, at the log's end.

    Args:
        sim: the finished simulation.
        data: the dataset it was recorded as; SKUs and locations are named as there (a site
            profile may spell ids its own way; the master keeps the simulation's row order).

    Returns:
        Columns :data:`TRUTH_COLUMNS`, sorted by sku and location; pairs where both are 0
        are left out.
    """
    sku_name = dict(zip(sim.cat.master["sku"], data.items["sku"], strict=True))
    loc_name = dict(zip(sim.layout.frame["location_id"], data.locations["location_id"],
                        strict=True))
    ledger = sim.ledger
    keys = sorted(k for k in set(ledger.system) | set(ledger.physical)
                  if ledger.system.get(k, 0) or ledger.physical.get(k, 0))
    frame = pd.DataFrame(
        [(sku_name.get(sku, sku), loc_name.get(loc, loc), ledger.system.get((sku, loc), 0),
          ledger.physical.get((sku, loc), 0)) for sku, loc in keys], columns=TRUTH_COLUMNS)
    return frame.sort_values(["sku", "location"], ignore_index=True)
