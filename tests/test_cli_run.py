"""``tally run`` end to end on a small generated dataset: contract-valid tickets, a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from warehouse.cli import app, main
from warehouse.contract import RootCause, Ticket
from warehouse.generator import GeneratorConfig, generate
from warehouse.writer import write_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ds")
    write_dataset(generate(GeneratorConfig(seed=21, days=7, skus=150)), folder)
    return folder


def test_run_writes_contract_tickets_and_report(dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["run", str(dataset), "--out", str(out)])
    assert result.exit_code == 0, result.output

    lines = (out / "tickets.jsonl").read_text().splitlines()
    tickets = [Ticket.model_validate(json.loads(line)) for line in lines]
    assert len(tickets) >= 10
    assert len({t.ticket_id for t in tickets}) == len(tickets)
    for t in tickets:
        assert t.evidence and all(e.id and e.source for e in t.evidence)
        assert t.status == ("NO_ACTION" if t.action.type.value == "NO_ACTION"
                            else "PENDING_APPROVAL")
    labels = (dataset / "labels.csv").read_text()
    assert sum(any(i in labels for i in t.txn_ids) for t in tickets) >= len(tickets) // 2
    report = (out / "report.md").read_text()
    assert "## Tickets by root cause and severity" in report and "## Timings" in report
    for cause in RootCause:
        assert f"| {cause.value} |" in report
    assert not (out / "writes.jsonl").exists()  # no write-back in a batch run


def test_bad_input_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "items.csv").write_text("sku,description,case_qty\nA,thing,1\n")
    for folder in (tmp_path, tmp_path / "nope"):
        monkeypatch.setattr("sys.argv", ["tally", "run", str(folder), "--out", str(tmp_path / "o")])
        with pytest.raises(SystemExit) as exc:
            main()
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and "\n" not in err and "Traceback" not in err
