"""``tally count-plan DATASET_DIR --top N --out plan.csv``: the day's risk-ranked count plan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from warehouse.errors import UserError


def count_plan_command(
    directory: Annotated[Path, typer.Argument(help="dataset folder (CONTRACT.md section 1)")],
    top: Annotated[int, typer.Option(min=1, max=100_000, help="locations to plan")] = 50,
    out: Annotated[Path | None, typer.Option("--out", help="write the plan as CSV")] = None,
) -> None:
    """Rank locations by expected money in error and write the N to count today."""
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from scoring.count_plan import plan_site
    from warehouse.loader import load_dataset

    if not directory.is_dir():
        raise UserError(f"{directory} is not a dataset folder")
    if out is not None and out.is_dir():
        raise UserError(f"--out {out} is a folder; name the CSV file to write")
    try:
        data = load_dataset(directory).dataset
    except (ValueError, FileNotFoundError) as exc:
        raise UserError(f"{directory}: {exc}") from None
    console = Console()
    with Progress(transient=True, console=console) as bar:
        task = bar.add_task("loading", total=None)
        try:
            plan = plan_site(data, top=top, progress=lambda what: bar.update(
                task, description=what))
        except ValueError as exc:
            raise UserError(f"{directory}: {exc}") from None
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        plan.to_csv(out, index=False)
    table = Table(title=f"count plan: {len(plan)} locations"
                  + (f" (written to {out})" if out else ""))
    for col in ("rank", "location", "sku", "score", "expected error value"):
        table.add_column(col, no_wrap=True, justify="left" if col in ("location", "sku")
                         else "right")
    table.add_column("reasons", overflow="fold", ratio=1)
    for row in plan.head(25).itertuples(index=False):
        table.add_row(str(row.rank), str(row.location), str(row.sku), f"{row.score:.3f}",
                      f"{row.expected_error_value:,.2f}", str(row.reasons))
    console.print(table)
