"""Sites on the command line: ``ingest --site``, ``triage --site``, ``tickets export`` equal to
``tally run`` on the same log, and ``users add --site`` / ``users grant``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli.main import app
from sim.generator import GeneratorConfig, generate
from warehouse.errors import UserError
from warehouse.store import Store
from warehouse.writer import write_dataset


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _by_transactions(tickets: list[dict[str, object]]) -> dict[frozenset[str], tuple]:
    """Each ticket's flagged transactions -> what it says (cause, severity, action)."""
    return {frozenset(t["txn_ids"]): (t["root_cause"], t["severity"], t["action"])  # type: ignore[arg-type]
            for t in tickets}


@pytest.mark.slow
def test_a_sites_exported_tickets_equal_tally_run_on_the_same_log(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    write_dataset(generate(GeneratorConfig(seed=31, days=7, skus=80)), folder)
    runner = CliRunner()
    batch = runner.invoke(app, ["run", str(folder), "--out", str(tmp_path / "run")])
    assert batch.exit_code == 0, batch.output
    # the same log at two sites: the default one and north
    for args in (["ingest", str(folder)], ["ingest", str(folder), "--site", "north"]):
        done = runner.invoke(app, args)
        assert done.exit_code == 0, done.output
        assert "re-delivered (skipped)" in done.output
    assert Store.open().sites() == ["default", "north"]
    status = runner.invoke(app, ["status", "--site", "north"])
    assert "site north" in status.output and "other sites: default" in status.output
    triaged = runner.invoke(app, ["triage", "--site", "north"])
    assert triaged.exit_code == 0, triaged.output

    out = tmp_path / "north" / "tickets.jsonl"
    exported = runner.invoke(app, ["tickets", "export", "--site", "north", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    ran, north = _lines(tmp_path / "run" / "tickets.jsonl"), _lines(out)
    assert len(north) >= 5
    assert _by_transactions(north) == _by_transactions(ran)  # same flagged transactions
    assert {tuple(sorted(t)) for t in north} == {tuple(sorted(t)) for t in ran}  # same fields
    assert {t["status"] for t in north} <= {"PENDING_APPROVAL", "NO_ACTION"}
    # the default site holds the same log but was not triaged: nothing of north's leaks in
    empty = runner.invoke(app, ["tickets", "export", "--out", str(tmp_path / "default.jsonl")])
    assert empty.exit_code == 0 and (tmp_path / "default.jsonl").read_text() == ""
    unknown = runner.invoke(app, ["tickets", "export", "--site", "south", "--out",
                                  str(tmp_path / "south.jsonl")])
    assert isinstance(unknown.exception, UserError) and "no site 'south'" in str(
        unknown.exception)


def test_ingest_and_export_refuse_a_bad_site_name(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    folder.mkdir()
    runner = CliRunner()
    for args in (["ingest", str(folder), "--site", "a/b"],
                 ["tickets", "export", "--site", "../x", "--out", str(tmp_path / "t.jsonl")]):
        done = runner.invoke(app, args)
        assert isinstance(done.exception, UserError), done.output
        assert "bad site name" in str(done.exception)


def test_users_with_roles_per_site(tmp_path: Path) -> None:
    runner = CliRunner()
    added = runner.invoke(app, ["users", "add", "nora", "--role", "supervisor",
                                "--site", "north", "--site", "east"])
    assert added.exit_code == 0, added.output
    assert "supervisor at east, north" in added.output
    everywhere = runner.invoke(app, ["users", "add", "ana", "--role", "viewer"])
    assert "at every site" in everywhere.output
    granted = runner.invoke(app, ["users", "grant", "nora", "--site", "south",
                                  "--role", "viewer"])
    assert granted.exit_code == 0, granted.output
    assert "east supervisor, north supervisor, south viewer" in granted.output
    listed = runner.invoke(app, ["users", "list"], terminal_width=200)
    assert "south viewer" in listed.output and "all" in listed.output
    for args, message in ((["users", "grant", "nobody", "--site", "x", "--role", "viewer"],
                           "no active user"),
                          (["users", "grant", "nora", "--site", "x y", "--role", "viewer"],
                           "bad site name"),
                          (["users", "add", "max", "--site", "north", "--role", "boss"],
                           "unknown role")):
        bad = runner.invoke(app, args)
        assert isinstance(bad.exception, UserError) and message in str(bad.exception)
