"""``tally ingest``, ``tally status`` and ``tally db upgrade``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from warehouse.errors import UserError

db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
SiteOption = Annotated[str, typer.Option(
    "--site", help="the site the rows belong to (one dataset folder is one site)")]


def ingest_command(
    path: Annotated[Path, typer.Argument(help="dataset folder, or one transactions file")],
    rejects: Annotated[Path | None, typer.Option(
        "--rejects", help="CSV file for rejected rows (default: in the data dir)")] = None,
    site: SiteOption = "default",
) -> None:
    """Load a contract dataset into the store as one site's; bad rows go to a rejects file."""
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    from warehouse.settings import get_settings
    from warehouse.store import Store

    if not path.exists():
        raise UserError(f"{path}: no such file or folder")
    if rejects is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        rejects = get_settings().data_dir / "rejects" / f"ingest-{stamp}.csv"
    store = Store.open(site=site)
    store.upgrade()
    report = store.ingest(path, rejects_path=rejects, progress=True)
    store.close()

    table = Table(title=f"ingested {path} into site {site}")
    table.add_column("")
    table.add_column("rows", justify="right")
    for name, rows in report.tables.items():
        table.add_row(f"loaded: {name}", f"{rows:,}")
    table.add_row("re-delivered (skipped)", f"{report.redelivered:,}")
    table.add_row("rejected", f"{report.rejected:,}")
    for reason, rows in report.rejected_by_reason.most_common():
        table.add_row(f"  {reason}", f"{rows:,}")
    for warning, rows in report.warnings.most_common():
        table.add_row(f"warning: {warning}", f"{rows:,}")
    console = Console()
    console.print(table)
    if report.rejects_path:
        console.print(f"rejected rows with line and reason: {report.rejects_path}")


def status_command(site: SiteOption = "default") -> None:
    """What the store holds at one site: rows, rejects, balances."""
    from rich.console import Console
    from rich.table import Table

    from warehouse.store import Store

    store = Store.open(site=site)
    state = store.status()
    others = [s for s in store.sites() if s != site]
    table = Table(title=f"Tally store, site {site}"
                  + (f" (other sites: {', '.join(others)})" if others else ""))
    table.add_column("")
    table.add_column("", justify="right")
    span = f"{state.first_ts:%Y-%m-%d %H:%M} .. {state.last_ts:%Y-%m-%d %H:%M}" \
        if state.first_ts is not None else "-"
    for label, value in [
        ("items", f"{state.items:,}"), ("locations", f"{state.locations:,}"),
        ("transactions", f"{state.transactions:,}"), ("time span (UTC)", span),
        ("ingests", f"{state.ingests:,}"), ("rows rejected", f"{state.rows_rejected:,}"),
        ("rows re-delivered", f"{state.rows_redelivered:,}"),
        ("locations holding stock", f"{state.balance_locations:,}"),
        ("SKUs in stock", f"{state.balance_skus:,}"),
        ("negative balances", f"{state.negative_balances:,}"),
    ]:
        table.add_row(label, value)
    for reason, rows in state.rejected_by_reason.most_common(10):
        table.add_row(f"  rejected: {reason}", f"{rows:,}")
    Console().print(table)


@db_app.command("upgrade")
def upgrade_command() -> None:
    """Create or migrate the schema to the latest revision; existing rows are kept."""
    from warehouse.store import Store
    from warehouse.store.schema import current_revision

    store = Store.open()
    store.upgrade()
    typer.echo(f"database at revision {current_revision(store.engine)}: "
               f"{store.engine.url.render_as_string(hide_password=True)}")
