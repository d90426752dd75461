"""Hand-labelled cases on the real online-retail export (``evals/real/online-retail-h1/``).

The export lives outside the repository, in ``../shared/data/real-online-retail-h1/`` beside
the repository root (CI has it there). Each run judges it twice: as exported (notes
visible) and with every note blanked (notes hidden), so the figures show how much of the
staff's own words Tally needs. A month slice keeps the CI suite small.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from evals.datasets import EvalDataset, without_notes
from evals.expectations import Expectation, expectations_from_labels
from warehouse.dataset import Dataset
from warehouse.errors import UserError

LABELS = Path(__file__).with_name("real") / "online-retail-h1" / "labels.csv"
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / \
    "real-online-retail-h1"
CI_MONTH = "2011-03"
"""The month the ci suite judges: the one with most labelled cases."""


def load_export(folder: Path) -> Dataset:
    """The real export as a dataset (contract loader)."""
    from warehouse.loader import load_dataset

    return load_dataset(folder).dataset


def month_slice(data: Dataset, month: str) -> Dataset:
    """Only the transactions of ``month`` (YYYY-MM)."""
    tx = data.transactions
    keep = tx["ts"].dt.strftime("%Y-%m") == month
    return Dataset(data.items, data.locations, tx[keep].reset_index(drop=True), None,
                   data.extras)


def _restricted(exps: list[Expectation], present: set[str]) -> list[Expectation]:
    """Cases with at least one txn_id in the slice, their txn_ids cut to the slice."""
    out = []
    for e in exps:
        ids = e.txn_ids & present
        if ids:
            out.append(Expectation(e.case_id, e.root_cause, frozenset(ids), e.actions,
                                   sku=e.sku, location=e.location))
    return out


def real_datasets(folder: Path | None = None, month: str | None = None) -> list[EvalDataset]:
    """The labelled real export, notes visible and notes hidden (empty when not there).

    Args:
        folder: the export's folder (default: ``../shared/data/real-online-retail-h1``
            beside the repository root).
        month: judge only this month (YYYY-MM); None for the whole export.

    Raises:
        UserError: the folder is missing while ``CI`` is true (CI must have it).
    """
    folder = folder or DEFAULT_DATA
    if not (folder / "items.csv").is_file():
        if os.environ.get("CI", "").lower() == "true":
            raise UserError(f"real export not found at {folder} (CI needs shared/ beside "
                            "the repository)")
        return []
    data = load_export(folder)
    if month:
        data = month_slice(data, month)
    exps = _restricted(expectations_from_labels(pd.read_csv(LABELS, dtype=str)),
                       set(data.transactions["txn_id"].astype(str)))
    name = "online-retail" + (f"-{month}" if month else "-h1")
    about = f"real export {month or '2010-12..2011-05'}, hand-labelled from the staff's notes"
    return [
        EvalDataset(name=name, kind="real", data=data, expectations=exps,
                    description=f"{about}, notes visible"),
        EvalDataset(name=f"{name}-notes-hidden", kind="real", data=without_notes(data),
                    expectations=exps, description=f"{about}, notes hidden"),
    ]
