"""``tally triage``: the store's incidents become tickets in the service queue, once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli.main import app
from api.tickets import TicketRecord
from sim.generator import GeneratorConfig, generate
from warehouse.settings import get_settings
from warehouse.store import Store
from warehouse.writer import write_dataset


@pytest.mark.slow
def test_triage_queues_tickets_once(tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(app, ["triage"])
    assert "no transactions" in str(empty.exception)

    folder = tmp_path / "ds"
    write_dataset(generate(GeneratorConfig(seed=31, days=7, skus=120)), folder)
    assert runner.invoke(app, ["ingest", str(folder)]).exit_code == 0
    first = runner.invoke(app, ["triage"])
    assert first.exit_code == 0, first.output

    engine = Store.open(None).engine
    with Session(engine) as session:
        tickets = session.exec(select(TicketRecord)).all()
        assert len(tickets) >= 5
        assert {t.status for t in tickets} <= {"PENDING_APPROVAL", "NO_ACTION"}
        assert any(t.status == "PENDING_APPROVAL" for t in tickets)
    assert (get_settings().data_dir / "checkpoints.sqlite").exists()

    again = runner.invoke(app, ["triage"])
    assert again.exit_code == 0, again.output
    with Session(engine) as session:
        assert len(session.exec(select(TicketRecord)).all()) == len(tickets)
