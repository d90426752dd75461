"""The eval suites: which datasets a run judges, each with its expectations.

Generated datasets come from the generator's site profiles
(:mod:`sim.generator.profiles`) at seeds >= 100. Two sides:

- **held-out**: profiles the offline reasoner and the risk calibration never saw (other
  conventions combined, a naming scheme and an e-commerce shop never trained on). The gate
  judges these, with the hand-written cases.
- **trained**: training profiles at seeds the training never used (>= 100), reported beside
  the held-out side so the gap between them shows; not gated.

The offline reasoner is trained and the scorer calibrated on training profiles at seeds 1-9
only (``agents.reasoners.train``, ``scoring.calibrate``), and both refuse held-out profiles.

Hand-written cases (``evals/cases/<name>/``) are contract dataset folders with an
``expected.yaml``; an ``injection`` entry there asks for a clean twin (notes blanked, or a
description restored) so the runner can check that the injected text changes nothing.
The hand-labelled real cases (``evals/real/``, kind ``real``) read the real export from
``../shared/data/`` beside the repository (:mod:`evals.real`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from evals.datasets import EvalDataset, without_notes
from evals.expectations import Expectation, expectations_from_labels
from sim.generator import GeneratorConfig, generate
from sim.generator.profiles import HELD_OUT_PROFILES, TRAINING_PROFILES
from warehouse.dataset import Dataset
from warehouse.errors import UserError

CASES_DIR = Path(__file__).with_name("cases")
SUITES = ("ci", "full", "cases", "real")
FIRST_HELD_OUT_SEED = 100


def _small(seed: int, profile: str, **kw: Any) -> GeneratorConfig:
    days = 14 if profile.startswith("shop-export") else 7
    return GeneratorConfig(seed=seed, days=days, skus=150, profile=profile, **kw)


CI_GENERATED: tuple[GeneratorConfig, ...] = (
    _small(100, "reference"),
    _small(101, "reference", noise=2.0, with_weights=False, with_coordinates=False),
    _small(106, "shop-export"),
    _small(102, "pallet-blind"),
    _small(103, "total-noscale"),
    _small(104, "yen-pallet"),
    _small(105, "shop-export-b"),
)
FULL_GENERATED: tuple[GeneratorConfig, ...] = (
    GeneratorConfig(seed=100),
    GeneratorConfig(seed=103, noise=2.0, skus=500),
    GeneratorConfig(seed=104, with_weights=False, with_coordinates=False),
    GeneratorConfig(seed=105, days=60, noise=0.5, with_notes=False),
    *(GeneratorConfig(seed=seed, profile=name)
      for name in (*TRAINING_PROFILES[1:], *HELD_OUT_PROFILES) for seed in (110, 111)),
    GeneratorConfig(seed=112, profile="pallet-blind", noise=2.0, skus=450),
    GeneratorConfig(seed=113, profile="total-noscale", days=45, with_notes=False),
)


def dataset_name(cfg: GeneratorConfig) -> str:
    """The dataset's name: ``<profile>-<seed>``, or ``gen-<seed>`` for the reference profile."""
    return f"gen-{cfg.seed}" if cfg.profile == "reference" else f"{cfg.profile}-{cfg.seed}"


def generated(cfg: GeneratorConfig, *, twin: bool = False) -> EvalDataset:
    """A generated dataset of seed >= 100; ``twin`` adds a copy without the injected notes."""
    if cfg.seed < FIRST_HELD_OUT_SEED:
        raise ValueError(f"seed {cfg.seed} is a training seed; eval seeds start at 100")
    data = generate(cfg)
    settings = {k: v for k, v in cfg.model_dump().items()
                if k in ("days", "skus", "noise", "with_weights", "with_coordinates",
                         "with_notes") and v != GeneratorConfig.model_fields[k].default}
    return EvalDataset(
        name=dataset_name(cfg), kind="generated", data=data, profile=cfg.profile,
        expectations=expectations_from_labels(data.labels),
        twin=without_injections(data) if twin and cfg.with_notes else None,
        description=", ".join([f"profile={cfg.profile}",
                               *(f"{k}={v}" for k, v in settings.items())]),
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


def without_injections(data: Dataset) -> Dataset:
    """The dataset with only the generator's instruction-like notes blanked.

    Ordinary notes are evidence (issue 10: "wrong barcode" counts like a weight), so the
    clean twin keeps them; the injected text must change nothing.
    """
    from sim.generator.benign import INJECTIONS

    tx = data.transactions.copy()
    tx["note"] = tx["note"].where(~tx["note"].isin(INJECTIONS), None)
    return Dataset(data.items, data.locations, tx, data.labels, data.extras)


def _clean_twin(data: Dataset, injection: dict[str, Any]) -> Dataset:
    """The dataset without the injected text (``field``: note, or description of ``sku``)."""
    if injection.get("field") == "description":
        items = data.items.copy()
        items.loc[items["sku"] == str(injection["sku"]), "description"] = injection["clean"]
        return Dataset(items, data.locations, data.transactions, data.labels, data.extras)
    return without_notes(data)


def case_folders(root: Path = CASES_DIR) -> list[Path]:
    """The hand-written case folders, sorted by name."""
    return sorted(p for p in root.iterdir() if (p / "expected.yaml").is_file())


def suite(name: str, *, cases_dir: Path = CASES_DIR,
          real_data: Path | None = None) -> Iterator[EvalDataset]:
    """The datasets of a suite: ``ci`` (small, CI's budget), ``full``, ``cases`` or ``real``.

    ``ci``, ``full`` and ``cases`` judge every hand-written case under ``cases_dir``; ``ci``
    and ``full`` add generated datasets (small ones in ``ci``; the first also runs with its
    instruction-like notes blanked, checking that they change nothing) and
    the hand-labelled real export (``ci``: one month; ``full``: all six), notes visible and
    hidden, when the export is at ``real_data``. ``real`` is the real export alone, whole.
    """
    from evals.real import CI_MONTH, real_datasets

    if name not in SUITES:
        raise UserError(f"--suite must be one of {', '.join(SUITES)}, not {name!r}")
    if name == "real":
        found = real_datasets(real_data)
        if not found:
            raise UserError(f"--suite real: no real export at {real_data or 'the default'}")
        yield from found
        return
    if not cases_dir.is_dir():
        raise UserError(f"--cases-dir {cases_dir} is not a folder")
    for folder in case_folders(cases_dir):
        yield hand_written(folder)
    configs = {"ci": CI_GENERATED, "full": FULL_GENERATED}.get(name, ())
    for i, cfg in enumerate(configs):
        yield generated(cfg, twin=i == 0)
    if name in ("ci", "full"):
        yield from real_datasets(real_data, CI_MONTH if name == "ci" else None)


def pick(datasets: list[EvalDataset], names: str) -> list[EvalDataset]:
    """The datasets named in ``names`` (comma-separated), in the suite's order."""
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    unknown = sorted(set(wanted) - {d.name for d in datasets})
    if unknown:
        raise UserError(f"--only: no dataset {', '.join(unknown)} in this suite")
    return [d for d in datasets if d.name in wanted]
