"""``tally run`` end to end on a small generated dataset: contract-valid tickets, a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.main import app, main
from sim.generator import GeneratorConfig, generate
from warehouse.contract import RootCause, Ticket
from warehouse.loader import load_dataset
from warehouse.store import Store
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
    # the run went through a fresh embedded store, kept for inspection
    stored = Store.open(f"sqlite:///{out / 'store.db'}").status()
    assert stored.transactions == len(load_dataset(dataset).dataset.transactions)


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


def test_demo_generates_runs_and_prints_the_top_tickets(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--seed", "3", "--days", "7",
                                      "--skus", "80", "--top", "2"])
    assert result.exit_code == 0, result.output

    assert (out / "dataset" / "transactions.csv").exists()
    lines = (out / "run" / "tickets.jsonl").read_text().splitlines()
    tickets = [Ticket.model_validate(json.loads(line)) for line in lines]
    assert tickets and f"{len(tickets)} tickets written" in result.output
    order = {"STOP": 0, "REVIEW": 1, "INFO": 2}
    top = sorted(tickets, key=lambda t: (order[t.severity.value], -t.value_at_risk,
                                         -t.risk_score, t.ticket_id))
    shown = [t for t in tickets if f"· {t.ticket_id}" in result.output]
    assert [t.ticket_id for t in shown] == sorted(t.ticket_id for t in top[:2])
    for t in top[:2]:
        assert f"{t.severity.value} · {t.root_cause.value} · {t.ticket_id}" in result.output
        assert t.action.type.value in result.output


@pytest.mark.parametrize(("args", "says"), [
    (["--out", "{taken}"], "is not a folder"),
    (["--out", "{tmp}/d", "--days", "3"], "--days: Input should be greater than or equal to 7"),
])
def test_demo_bad_options_are_one_line_exit_2(
        args: list[str], says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    taken = tmp_path / "file.txt"
    taken.write_text("not a folder")
    argv = [a.format(taken=taken, tmp=tmp_path) for a in args]
    monkeypatch.setattr("sys.argv", ["tally", "demo", *argv])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and says in err and "\n" not in err
    assert not (tmp_path / "d").exists()
