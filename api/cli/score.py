"""``tally score [DIR]``: score a dataset folder (or the store's snapshot), show top incidents.

Then the per-rule report of the fitted scorer: rows each rule considered, how many it fired
on, and whether it was kept, re-thresholded or stood down at this site (or skipped, why).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from warehouse.errors import UserError

if TYPE_CHECKING:
    from warehouse.dataset import Dataset


def _load(directory: Path | None) -> Dataset:
    if directory is None:
        from warehouse.store import Store

        return Store.open(None).snapshot()
    if not directory.is_dir():
        raise UserError(f"{directory} is not a dataset folder")
    from warehouse.loader import load_dataset

    try:
        return load_dataset(directory).dataset
    except (ValueError, FileNotFoundError) as exc:
        raise UserError(f"{directory}: {exc}") from None


def score_command(
    directory: Annotated[
        Path | None, typer.Argument(help="dataset folder; default: the store")
    ] = None,
    top: Annotated[int, typer.Option(help="incidents to show")] = 15,
) -> None:
    """Fit the scorer on the log, score it and print the top incidents with their reasons."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from scoring import Scorer

    data = _load(directory)
    console = Console()
    if len(data.transactions) == 0:
        raise UserError("no transactions to score")
    with Progress(transient=True, console=console) as bar:
        task = bar.add_task("fitting baselines", total=None)
        scorer = Scorer().fit(data)
        bar.update(task, description="scoring", total=len(scorer.detectors_), completed=0)
        result = scorer.score_batch(
            data, progress=lambda name: bar.update(task, advance=1, description=f"detector {name}")
        )
    table = Table(
        title=f"top incidents ({len(result.incidents)} from {len(result.flags)} flags, "
        f"{result.flags_per_incident:.1f} flags per incident)"
    )
    for col in ("incident", "risk", "severity", "sku", "location", "txns", "reasons"):
        table.add_column(col, overflow="fold")
    for inc in result.incidents[:top]:
        reasons = "\n".join(dict.fromkeys(f.reason for f in inc.flags))
        reasons = "\n".join(reasons.splitlines()[:4])
        table.add_row(
            inc.incident_id,
            f"{inc.risk_score:.2f}",
            inc.severity.value,
            inc.sku or "",
            inc.location or "",
            str(len(inc.txn_ids)),
            reasons,
        )
    console.print(table)
    console.print(detector_table(scorer.detector_report_))


def detector_table(report: Any) -> Any:
    """The fitted scorer's per-rule report as a rich table: what fired, what it did about it."""
    from rich.table import Table

    table = Table(title="detectors at this site (eligible rows, firings, action)")
    for col in ("detector", "code", "eligible", "fired", "share", "action"):
        table.add_column(col, overflow="fold", justify="right" if col in (
            "eligible", "fired", "share") else "left")
    for row in report.itertuples(index=False):
        share = "" if row.share != row.share else f"{row.share:.2%}"
        table.add_row(row.detector, row.code, f"{row.eligible:,}", f"{row.fired:,}", share,
                      row.action)
    return table
