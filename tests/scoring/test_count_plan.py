"""The cycle-count plan: columns, ranking, determinism, the CLI, and calibration on held-out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli.main import app
from evals.count_plan import build_site, evaluate
from scoring.count_features import FEATURES, count_features
from scoring.count_plan import PLAN_COLUMNS, CountPlanModel, count_plan, plan_site
from scoring.scorer import Scorer
from sim.generator import GeneratorConfig, generate
from sim.generator.truth import generate_with_truth
from warehouse.dataset import Dataset
from warehouse.writer import write_dataset


@pytest.fixture(scope="module")
def site() -> tuple[Dataset, list]:
    data = generate(GeneratorConfig(seed=31, days=14, skus=200))
    return data, Scorer().fit(data).score_batch(data).flags


def test_plan_has_its_columns_ranked_by_expected_money(site: tuple[Dataset, list]) -> None:
    data, flags = site
    plan = count_plan(data, flags, top=15)
    assert list(plan.columns) == PLAN_COLUMNS
    assert len(plan) == 15
    assert plan["rank"].tolist() == list(range(1, 16))
    assert plan["location"].is_unique
    eev = plan["expected_error_value"].to_numpy()
    assert (np.diff(eev) <= 0).all() and eev[0] > 0
    assert plan["score"].between(0, 1).all()
    assert plan["location_type"].isin(["PICK", "RESERVE", "BULK", "CAGE"]).all()
    assert plan["reasons"].str.len().gt(0).all()
    named = plan[plan["sku"] != ""]
    held = set(zip(data.transactions["sku"], data.transactions["location"], strict=True)) | set(
        zip(data.transactions["sku"], data.transactions["to_location"], strict=True))
    assert len(named) and all((s, loc) in held for s, loc in zip(named["sku"], named["location"],
                                                                  strict=True))


def test_plan_is_deterministic_and_blind_to_labels(site: tuple[Dataset, list]) -> None:
    data, flags = site
    first = count_plan(data, flags, top=20)
    unlabelled = Dataset(items=data.items, locations=data.locations,
                         transactions=data.transactions, labels=None)
    pd.testing.assert_frame_equal(first, count_plan(unlabelled, flags, top=20))
    assert count_plan(data, flags, top=5).equals(first.head(5))


def test_flagged_uncorrected_count_outranks_a_quiet_bin(site: tuple[Dataset, list]) -> None:
    data, flags = site
    model = CountPlanModel.load()
    records = count_features(data, flags)
    p = model.record_probability(records)
    loud = (records["unresolved_var"] > 0) & (records["flags"] > 0)
    quiet = (records["flags"] == 0) & (records["counted"] == 1) & (records["last_var"] == 0)
    assert loud.any() and quiet.any()
    assert np.median(p[loud.to_numpy()]) > 0.5 > np.median(p[quiet.to_numpy()])
    assert list(model.features) == list(FEATURES)


def test_held_out_site_calibrated_and_covering_money() -> None:
    cfg = GeneratorConfig(seed=2101, days=21, skus=250, noise=1.2)
    result = evaluate(build_site(cfg), CountPlanModel.load())
    base = float(np.mean((result.labels.mean() - result.labels) ** 2))
    assert result.brier < 0.7 * base
    assert result.plan_coverage >= 0.5
    assert result.plan_money >= 3 * result.abc_money
    # where the plan says 90%+, the bins are wrong nearly always; under 10%, rarely
    high, low = result.scores >= 0.9, result.scores < 0.1
    assert result.labels[high].mean() > 0.8 and result.labels[low].mean() < 0.1


def test_truth_is_kept_out_of_the_dataset() -> None:
    data, truth = generate_with_truth(GeneratorConfig(seed=32, days=7, skus=60))
    assert list(truth.columns) == ["sku", "location", "system", "physical"]
    assert (truth["system"] != truth["physical"]).any()
    frames = (data.items, data.locations, data.transactions, data.labels)
    assert not any("physical" in f.columns for f in frames if f is not None)
    # the planner's balances are the simulation's system balances
    records = count_features(data, [])
    merged = records.merge(truth, on=["sku", "location"])
    assert (merged["balance"] == merged["system"]).all()


def test_cli_writes_the_plan_csv(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    write_dataset(generate(GeneratorConfig(seed=33, days=7, skus=80)), folder)
    out = tmp_path / "plan.csv"
    result = CliRunner().invoke(app, ["count-plan", str(folder), "--top", "7", "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out, keep_default_na=False)
    assert list(written.columns) == PLAN_COLUMNS and len(written) == 7
    again = plan_site(generate(GeneratorConfig(seed=33, days=7, skus=80)), top=7)
    assert written["location"].tolist() == again["location"].tolist()


def test_cli_rejects_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["count-plan", str(tmp_path / "nope")])
    assert missing.exit_code != 0 and "not a dataset folder" in str(missing.exception)
    zero = runner.invoke(app, ["count-plan", str(tmp_path), "--top", "0"])
    assert zero.exit_code == 2 and "--top" in zero.output
