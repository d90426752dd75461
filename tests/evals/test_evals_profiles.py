"""Trained vs held-out: training refuses held-out profiles; the report shows both sides."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from agents.reasoners.train import HELD_OUT, check_trainable, training_config
from evals.by_profile import gate_figures, markdown, profile_rows
from evals.datasets import HELD_OUT as HELD_OUT_SIDE
from evals.datasets import TRAINED, EvalDataset
from evals.metrics import queue_figures, tickets_per_case
from evals.real import LABELS, month_slice, real_datasets
from evals.runner import DatasetRun, judge_runs
from evals.suites import CI_GENERATED, suite
from scoring.calibrate import collect
from sim.generator import GeneratorConfig
from sim.generator.profiles import HELD_OUT_PROFILES, TRAINING_PROFILES
from tests.evals.test_evals_metrics import case, ticket
from warehouse.contract import ActionType as A
from warehouse.contract import RootCause as R
from warehouse.dataset import Dataset


def test_training_uses_training_profiles_only_and_refuses_held_out_ones() -> None:
    assert {training_config(s).profile for s in range(1, 10)} == set(TRAINING_PROFILES)
    for name in HELD_OUT_PROFILES:
        with pytest.raises(ValueError, match="held out"):
            check_trainable(GeneratorConfig(seed=3, profile=name))
    with pytest.raises(ValueError, match="eval seed"):
        check_trainable(GeneratorConfig(seed=100))
    assert {c.profile for c in HELD_OUT} == set(HELD_OUT_PROFILES)


def test_calibration_refuses_held_out_profiles_and_eval_seeds() -> None:
    with pytest.raises(ValueError, match="held out"):
        collect((1,), 7, 60, profile=HELD_OUT_PROFILES[0])
    with pytest.raises(ValueError, match="eval seed"):
        collect((101,), 7, 60)


def test_ci_suite_holds_both_sides_and_gates_on_held_out_profiles() -> None:
    sides = {cfg.profile in HELD_OUT_PROFILES for cfg in CI_GENERATED}
    assert sides == {True, False}
    assert {c.profile for c in CI_GENERATED if c.profile in HELD_OUT_PROFILES} == set(
        HELD_OUT_PROFILES)


def _ds(name: str, profile: str | None, exps: list, kind: str = "generated") -> EvalDataset:
    return EvalDataset(name=name, kind=kind, data=Dataset.empty(), expectations=exps,
                       profile=profile)


def _run() -> object:
    trained = _ds("reference-100", "reference", [case("c1", R.MIS_SCAN, ["a"], A.RECOUNT)])
    held = _ds("pallet-blind-102", "pallet-blind",
               [case("c2", R.SHRINKAGE, ["b", "c"], A.INVESTIGATE),
                case("c3", R.UOM_MASTER_DATA, ["d"], A.CORRECT_MASTER_DATA)])
    runs = [
        DatasetRun(trained, [ticket("t1", ["a"], R.MIS_SCAN, A.RECOUNT, risk=0.4)], 0.1),
        DatasetRun(held, [ticket("t2", ["b"], R.SHRINKAGE, A.INVESTIGATE, risk=1.0),
                          ticket("t3", ["c"], R.SHRINKAGE, A.INVESTIGATE, risk=0.2),
                          ticket("t4", ["z"], R.SLOTTING, A.RESLOT, risk=0.995)], 0.1),
    ]
    return judge_runs("tally", "offline", "ci", runs)


def test_per_profile_report_has_both_sides_and_the_gate_reads_held_out_only() -> None:
    run = _run()
    rows = {r.label: r for r in profile_rows(run)}
    assert rows["reference"].side == TRAINED and rows["pallet-blind"].side == HELD_OUT_SIDE
    assert rows["reference"].figures["recall"] == 1.0
    held = rows["all held-out"].figures
    assert held["recall"] == 0.5  # c2 ticketed, c3 missed
    assert held["false_alarm_share"] == pytest.approx(1 / 3)
    assert held["tickets_per_case"] == 2.0  # t2 and t3 both cover c2
    assert held["risk_saturated"] == pytest.approx(2 / 3)
    # c2's ticket t2 (1.0) outranks the false alarm t4 (0.995); t3 is c2's second ticket
    assert held["risk_auc"] == 1.0
    assert rows["reference"].figures["risk_auc"] == 0.5  # no false alarm to rank against
    gate = gate_figures(run)
    assert gate["recall"] == held["recall"] and gate["tickets_per_case"] == 2.0
    text = "\n".join(markdown(run))
    assert "| reference | trained |" in text and "| pallet-blind | held-out |" in text


def test_occurrences_under_a_systemic_ticket_are_not_queue_tickets() -> None:
    exp = case("c", R.SYSTEM_SYNC, ["a", "b", "c"], A.INVESTIGATE)
    parent = ticket("p", ["a", "b", "c"], R.SYSTEM_SYNC, A.INVESTIGATE, risk=0.7)
    kids = [ticket(f"k{i}", [t], R.SYSTEM_SYNC, A.VOID_DUPLICATE).model_copy(
        update={"parent_ticket_id": "p"}) for i, t in enumerate("abc")]
    assert tickets_per_case([parent, *kids], [exp]) == (1, 1)
    assert tickets_per_case(kids[:2], [exp]) == (0, 0)
    assert queue_figures([parent, *kids]).tickets == 1


def test_real_cases_point_at_the_export_and_skip_cleanly_when_it_is_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    labels = pd.read_csv(LABELS, dtype=str)
    assert labels["case_id"].is_unique and len(labels) >= 30
    assert set(labels["root_cause"]) >= {"MIS_SCAN", "UOM_MASTER_DATA", "SHRINKAGE",
                                         "SYSTEM_SYNC", "LEGITIMATE"}
    monkeypatch.delenv("CI", raising=False)
    assert real_datasets(tmp_path / "nowhere") == []
    monkeypatch.setenv("CI", "true")
    with pytest.raises(Exception, match="real export not found"):
        real_datasets(tmp_path / "nowhere")
    monkeypatch.delenv("CI")
    with pytest.raises(Exception, match="no real export"):
        list(suite("real", real_data=tmp_path / "nowhere"))


def test_real_labels_match_the_export_where_it_is_present() -> None:
    from evals.real import DEFAULT_DATA, load_export

    folder = DEFAULT_DATA if DEFAULT_DATA.is_dir() else Path(
        "/work/shared/data/real-online-retail-h1")
    if not (folder / "items.csv").is_file():
        pytest.skip(f"real export not at {folder}")
    data = load_export(folder)
    ids = set(data.transactions["txn_id"].astype(str))
    for row in pd.read_csv(LABELS, dtype=str).itertuples():
        assert set(row.txn_ids.split()) <= ids, row.case_id
    march = month_slice(data, "2011-03")
    assert march.transactions["ts"].dt.month.eq(3).all() and len(march.transactions) > 1000
    visible, hidden = real_datasets(folder, "2011-03")
    assert visible.expectations == hidden.expectations and visible.expectations
    assert hidden.data.transactions["note"].isna().all()
    assert visible.data.transactions["note"].notna().any()
