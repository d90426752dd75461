"""Run the simulation and turn its ledger into a contract :class:`Dataset`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.generator import anomalies, benign
from sim.generator.config import GeneratorConfig
from sim.generator.labels import labels_frame
from sim.generator.ledger import ROW_FIELDS
from sim.generator.naming import rename
from sim.generator.operations import Simulation
from sim.generator.profiles import SiteProfile, get_profile
from warehouse.contract import TRANSACTION_COLUMNS
from warehouse.dataset import Dataset

_STRING_COLUMNS = ("txn_id", "type", "sku", "uom", "location", "to_location", "user_id",
                   "device_id", "reason_code", "ref", "lot", "expiry", "note")


def generate(config: GeneratorConfig, *, progress: bool = False) -> Dataset:
    """Simulate a distribution centre and return its items, locations, log and labels.

    Args:
        config: what to simulate.
        progress: show a rich progress bar over the simulated days.

    Returns:
        A dataset whose transactions are sorted by ts (tz-aware UTC) with ``eaches``, and
        whose ``labels`` hold one row per injected case (plus a ``variant`` column).
    """
    if get_profile(config.profile).kind == "ecommerce":
        from sim.generator.ecommerce import generate_export

        return generate_export(config)
    return to_dataset(simulate(config, progress=progress))


def simulate(config: GeneratorConfig, *, progress: bool = False) -> Simulation:
    """Run the simulation; the finished :class:`Simulation` (its ledger knows both balances)."""
    sim = Simulation(config, benign=benign, schedule_cases=anomalies.schedule)
    if progress:
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task("simulating days", total=config.days)
            sim.run(on_day=lambda _day: bar.advance(task))
    else:
        sim.run()
    return sim


def to_dataset(sim: Simulation) -> Dataset:
    """The finished simulation as contract frames, txn_ids numbered in time order."""
    cfg = sim.cfg
    raw = pd.DataFrame.from_records(sim.ledger.rows, columns=list(ROW_FIELDS))
    seconds = raw["ts"].to_numpy(dtype=np.int64)
    order = np.lexsort((np.arange(len(raw)), seconds))
    position = np.empty(len(raw), dtype=np.int64)
    position[order] = np.arange(len(raw))
    first_id = int(np.random.default_rng([cfg.seed, 1]).integers(1_000_000, 5_000_000))
    ids_sorted = [f"TX{first_id + i:08d}" for i in range(len(raw))]
    id_of_seq = [ids_sorted[p] for p in position.tolist()]

    tx = raw.iloc[order].reset_index(drop=True)
    tx.insert(0, "txn_id", ids_sorted)
    start = pd.Timestamp(cfg.start, tz="UTC")
    tx["ts"] = start + pd.to_timedelta(tx["ts"].to_numpy(dtype=np.int64), unit="s")
    tx["uom"] = tx["uom"].fillna("EA")
    for col in ("qty", "weight_kg", "expected_qty"):
        tx[col] = pd.to_numeric(tx[col], errors="raise").astype("float64")
    if not cfg.with_weights:
        tx["weight_kg"] = np.nan
    for col in _STRING_COLUMNS:
        tx[col] = tx[col].astype("str")
    if cfg.with_notes:
        benign.add_notes(tx, np.random.default_rng([cfg.seed, 2]), cfg.noise)
    tx = tx[TRANSACTION_COLUMNS].copy()

    items = sim.cat.master.copy()
    items["home_location"] = [sim.cat.home[s] for s in sim.cat.skus]
    if not cfg.with_weights:
        items["unit_weight_kg"] = np.nan
    case_qty = items.set_index("sku")["case_qty"]
    factor = np.where(tx["uom"].to_numpy() == "CS", tx["sku"].map(case_qty).to_numpy(), 1)
    tx["eaches"] = tx["qty"].to_numpy() * factor.astype("float64")

    locations = sim.layout.frame.copy()
    if not cfg.with_coordinates:
        locations[["x_m", "y_m"]] = np.nan
    if not cfg.with_weights:
        locations["max_weight_kg"] = np.nan
    labels = labels_frame(sim.cases, id_of_seq, position.tolist())
    data = Dataset(items=items, locations=locations, transactions=tx, labels=labels)
    return apply_conventions(data, sim.site, cfg.seed)


def apply_conventions(data: Dataset, site: SiteProfile, seed: int) -> Dataset:
    """Record a finished log the site's way: blind counts, no devices, clock, currency, ids."""
    tx, items = data.transactions, data.items
    rng = np.random.default_rng([seed, 8])
    if site.blind_counts > 0:
        counts = (tx["type"] == "CYCLE_COUNT").to_numpy()
        blind = counts & (rng.random(len(tx)) < site.blind_counts)
        tx["expected_qty"] = tx["expected_qty"].mask(blind)
    if not site.devices:
        tx["device_id"] = tx["device_id"].where(np.zeros(len(tx), dtype=bool))
    if site.clock_offset_h:
        tx["ts"] = tx["ts"] + pd.Timedelta(hours=site.clock_offset_h)
    if site.cost_scale != 1.0:
        items["unit_cost"] = (items["unit_cost"] * site.cost_scale).round(2)
    return rename(data, site.naming, seed)
