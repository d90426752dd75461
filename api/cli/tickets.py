"""``tally tickets export``: one site's tickets from the store as ``tickets.jsonl`` lines.

The lines are CONTRACT.md section 5's, as ``tally run`` writes them, so a site the service
triaged (streamed or ingested) can be compared with a batch run of the same log.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.data import SiteOption

tickets_app = typer.Typer(help="The service's tickets.", no_args_is_help=True)


@tickets_app.command("export")
def tickets_export_command(
    out: Annotated[Path, typer.Option("--out", help="the tickets.jsonl file to write")],
    site: SiteOption = "default",
) -> None:
    """Write the site's stored tickets, oldest first, as contract ticket lines."""
    from sqlalchemy import inspect
    from sqlmodel import Session

    from agents.batch import write_ticket_lines
    from api.db import open_engine
    from api.tickets import contract_ticket, site_tickets
    from warehouse.errors import UserError
    from warehouse.sites import check_site
    from warehouse.store import Store

    check_site(site)
    if out.is_dir():
        raise UserError(f"--out {out} is a folder: name the file to write")
    engine = open_engine(require=("ticket",))
    with Session(engine) as session:
        records = site_tickets(session, site=site)
    if not records and "transactions" in inspect(engine).get_table_names() \
            and site not in Store(engine).sites():
        raise UserError(f"no site {site!r} in the store (sites: "
                        f"{', '.join(Store(engine).sites()) or 'none'})")
    out.parent.mkdir(parents=True, exist_ok=True)
    n = write_ticket_lines((contract_ticket(r) for r in records), out)
    typer.echo(f"{n} tickets of site {site} written to {out}")
