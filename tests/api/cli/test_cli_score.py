"""``tally score DIR`` prints the top incidents and the per-rule report of the site."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tests.scorer_cases import at, dataset
from warehouse.writer import write_dataset


def test_score_prints_each_rules_eligible_rows_firings_and_action(tmp_path: Path) -> None:
    from api.cli.main import app

    usual = [{"ts": at(0.5 + k * 0.05), "type": "PUTAWAY", "sku": "H", "qty": 1,
              "location": "D1", "to_location": "R1", "user_id": "R1"} for k in range(220)]
    write_dataset(dataset(usual), tmp_path / "site")
    out = CliRunner().invoke(app, ["score", str(tmp_path / "site")], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "detectors at this site" in out.output
    line = next(x for x in out.output.splitlines() if "HIGH_VALUE_OUTSIDE_CAGE" in x)
    assert "220" in line and "100.00%" in line and "stood down" in line
    assert "skipped: no receipts in the log" in out.output
