"""``tally run`` learns from ``resolutions.csv``: verdicts on one half, figures on the other."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.batch import run_dataset
from evals.expectations import expectations_from_labels
from evals.learning import TimeSplit
from sim.generator import GeneratorConfig, generate
from warehouse.loader import load_dataset
from warehouse.loader.resolutions import write_resolutions
from warehouse.settings import Settings
from warehouse.writer import write_dataset


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("learn")
    write_dataset(generate(GeneratorConfig(seed=104, days=28, skus=200, noise=3.0)),
                  root / "ds")
    return root


def test_verdicts_from_the_first_half_do_not_hurt_the_second(folder: Path) -> None:
    before = run_dataset(folder / "ds", folder / "before", Settings())
    data = load_dataset(folder / "ds").dataset
    data_split = TimeSplit(data, expectations_from_labels(data.labels))
    verdicts = data_split.verdicts(before.tickets, decided_by="site-supervisor")
    assert verdicts and all(data_split.first_half(v.txn_ids) for v in verdicts)
    path = write_resolutions(verdicts, folder / "ds" / "resolutions.csv")
    with path.open("a") as fh:
        fh.write("TX-NOPE,PERHAPS,,,,,\n")  # a bad row: rejected, the others learned from
    after = run_dataset(folder / "ds", folder / "after", Settings())

    b, a = data_split.second_half(before.tickets), data_split.second_half(after.tickets)
    assert a.false_alarm_share <= b.false_alarm_share
    assert a.recall >= b.recall - 0.02
    assert a.macro_f1 >= b.macro_f1 - 1e-9

    report = (folder / "after" / "report.md").read_text()
    assert "## What this site's verdicts taught" in report
    assert f"{len(verdicts)} verdicts given" in report
    rejects = (folder / "after" / "resolution_rejects.csv").read_text()
    assert "verdict" in rejects and "PERHAPS" in rejects
    assert after.learning is not None
    for t in after.tickets:  # every dismissal is explained, and its rule is in the report
        learned = (t.model_extra or {}).get("learned")
        if learned:
            assert t.status == "NO_ACTION" and t.root_cause.value == "LEGITIMATE"
            assert all(rid in report for rid in learned["rule_ids"])
    assert "What this site's verdicts taught" not in (folder / "before" / "report.md").read_text()
