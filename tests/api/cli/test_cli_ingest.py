from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from api.cli.main import app
from sim.generator import GeneratorConfig, generate
from warehouse.errors import UserError
from warehouse.store.schema import head_revision
from warehouse.writer import write_dataset


def _dataset(folder: Path) -> tuple[int, int]:
    """Write a dataset; (transactions, master-data rows)."""
    data = generate(GeneratorConfig(seed=2, days=7, skus=150))
    tx = data.transactions
    data.transactions = pd.concat([tx, tx.head(3)], ignore_index=True)  # 3 re-deliveries
    write_dataset(data, folder)
    with (folder / "transactions.csv").open("a") as out:
        out.write("BAD1,not-a-time,PICK,X,1,EA,L,,u,,,,,,,,\n")
    return len(tx), len(data.items) + len(data.locations)


def test_ingest_then_status(tmp_path: Path) -> None:
    rows, master = _dataset(tmp_path / "d")
    rejects = tmp_path / "rejects.csv"
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", str(tmp_path / "d"), "--rejects", str(rejects)])
    assert result.exit_code == 0, result.output
    assert "re-delivered (skipped)" in result.output and "ts: bad_time" in result.output
    assert pd.read_csv(rejects)[["field", "code"]].values.tolist() == [["ts", "bad_time"]]
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert f"{rows:,}" in status.output and "negative balances" in status.output
    again = runner.invoke(app, ["ingest", str(tmp_path / "d")])
    # everything is already stored: the lot is re-delivered, nothing is loaded twice
    assert again.exit_code == 0 and f"{rows + 3 + master:,}" in again.output
    assert f"{rows:,}" in runner.invoke(app, ["status"]).output


def test_db_upgrade_reports_the_revision(tmp_path: Path) -> None:
    head = head_revision()
    result = CliRunner().invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0 and f"database at revision {head}" in result.output


def test_user_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    bare = CliRunner().invoke(app, ["status"])  # nothing ingested, no schema yet
    assert isinstance(bare.exception, UserError) and "tally db upgrade" in str(bare.exception)
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "items.csv").write_text("sku,description\nS1,x\n")
    (folder / "locations.csv").write_text("location_id,zone,type\nL1,A,PICK\n")
    (folder / "transactions.csv").write_text("txn_id\n")
    for args, message in [([str(tmp_path / "nope")], "no such file or folder"),
                          ([str(folder)], "missing required column(s) case_qty")]:
        done = subprocess.run([sys.executable, "-c", "from api.cli.main import main; main()",
                               "ingest", *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and message in done.stderr
        assert "Traceback" not in done.stderr
