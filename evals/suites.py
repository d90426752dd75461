"""The eval suites: which datasets a run judges, each with its expectations.

Generated datasets use generator seeds >= 100 only. The offline reasoner is trained on
seeds 1-9 and the scorer calibrated on seeds 1-9 (``agents.reasoners.train``), so every
generated dataset here is held out; settings vary (size, noise, no weights, no coordinates,
no notes) so no one setting rules the figures.

Hand-written cases (``evals/cases/<name>/``) are contract dataset folders with an
``expected.yaml``; an ``injection`` entry there asks for a clean twin (notes blanked, or a
description restored) so the runner can check that the injected text changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from agents.reasoners.train import HELD_OUT
from evals.expectations import Expectation, expectations_from_labels
from sim.generator import GeneratorConfig, generate
from warehouse.dataset import Dataset
from warehouse.errors import UserError

CASES_DIR = Path(__file__).with_name("cases")
SUITES = ("ci", "full", "cases")
FIRST_HELD_OUT_SEED = 100

CI_GENERATED: tuple[GeneratorConfig, ...] = (
    GeneratorConfig(seed=100, days=7, skus=150),
    GeneratorConfig(seed=101, days=7, skus=150, noise=2.0, with_weights=False,
                    with_coordinates=False),
)
FULL_GENERATED: tuple[GeneratorConfig, ...] = (
    *HELD_OUT,  # the offline reasoner's own held-out settings, then three more
    GeneratorConfig(seed=106, days=14, skus=200, noise=3.0),
    GeneratorConfig(seed=107, days=21, skus=250, noise=0.0, with_weights=False),
    GeneratorConfig(seed=108, days=10, skus=120, anomalies=84, with_coordinates=False),
)


@dataclass
class EvalDataset:
    """One dataset of a suite.

    Attributes:
        name: unique within the suite (``gen-100`` or the case folder's name).
        kind: ``generated`` or the hand-written case's kind (clear, red_herring, ...).
        data: the dataset as loaded.
        expectations: its labelled cases.
        twin: the same dataset without the injected text, when the case asks for the check.
        description: one line for the report.
    """

    name: str
    kind: str
    data: Dataset
    expectations: list[Expectation]
    twin: Dataset | None = None
    description: str = ""


def generated(cfg: GeneratorConfig, *, twin: bool = False) -> EvalDataset:
    """A held-out generated dataset; ``twin`` adds a copy with every operator note blanked."""
    if cfg.seed < FIRST_HELD_OUT_SEED:
        raise ValueError(f"seed {cfg.seed} is a training seed; eval seeds start at 100")
    data = generate(cfg)
    settings = {k: v for k, v in cfg.model_dump().items()
                if k in ("days", "skus", "noise", "with_weights", "with_coordinates",
                         "with_notes") and v != GeneratorConfig.model_fields[k].default}
    return EvalDataset(
        name=f"gen-{cfg.seed}", kind="generated", data=data,
        expectations=expectations_from_labels(data.labels),
        twin=_without_notes(data) if twin and cfg.with_notes else None,
        description=", ".join(f"{k}={v}" for k, v in settings.items()) or "defaults",
    )


def hand_written(folder: Path) -> EvalDataset:
    """Load one case folder: the contract files plus ``expected.yaml``."""
    from warehouse.loader import load_dataset

    spec_path = folder / "expected.yaml"
    if not spec_path.is_file():
        raise UserError(f"{folder}: no expected.yaml")
    try:
        spec: dict[str, Any] = yaml.safe_load(spec_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise UserError(f"{spec_path}: not valid YAML ({err})") from None
    try:
        exps = [Expectation.from_mapping(c, where=f"{spec_path} case {i + 1}")
                for i, c in enumerate(spec.get("cases") or [])]
    except ValueError as err:
        raise UserError(str(err)) from None
    if not exps:
        raise UserError(f"{spec_path}: no cases")
    data = load_dataset(folder).dataset
    injection = spec.get("injection")
    return EvalDataset(name=folder.name, kind=str(spec.get("kind", "clear")), data=data,
                       expectations=exps, twin=_clean_twin(data, injection) if injection else None,
                       description=str(spec.get("description", "")))


def _without_notes(data: Dataset) -> Dataset:
    tx = data.transactions.copy()
    if "note" in tx:
        tx["note"] = pd.Series([None] * len(tx), index=tx.index, dtype=object)
    return Dataset(data.items, data.locations, tx, data.labels, data.extras)


def _clean_twin(data: Dataset, injection: dict[str, Any]) -> Dataset:
    """The dataset without the injected text (``field``: note, or description of ``sku``)."""
    if injection.get("field") == "description":
        items = data.items.copy()
        items.loc[items["sku"] == str(injection["sku"]), "description"] = injection["clean"]
        return Dataset(items, data.locations, data.transactions, data.labels, data.extras)
    return _without_notes(data)


def case_folders(root: Path = CASES_DIR) -> list[Path]:
    """The hand-written case folders, sorted by name."""
    return sorted(p for p in root.iterdir() if (p / "expected.yaml").is_file())


def suite(name: str, *, cases_dir: Path = CASES_DIR) -> Iterator[EvalDataset]:
    """The datasets of suite ``ci`` (small, under CI's time budget), ``full`` or ``cases``.

    All judge every hand-written case under ``cases_dir``; ``ci`` and ``full`` add generated
    datasets (small ones in ``ci``), ``cases`` adds none. The first
    generated dataset also runs with its notes blanked, checking that the generator's
    injection-like notes change nothing.
    """
    if name not in SUITES:
        raise UserError(f"--suite must be one of {', '.join(SUITES)}, not {name!r}")
    if not cases_dir.is_dir():
        raise UserError(f"--cases-dir {cases_dir} is not a folder")
    for folder in case_folders(cases_dir):
        yield hand_written(folder)
    configs = {"ci": CI_GENERATED, "full": FULL_GENERATED}.get(name, ())
    for i, cfg in enumerate(configs):
        yield generated(cfg, twin=i == 0)
