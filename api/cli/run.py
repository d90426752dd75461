"""``tally run``, ``tally demo`` and ``tally triage``: triage from the command line.

``run`` and ``demo`` triage a dataset folder in batch; ``triage`` opens the store's incidents
as tickets in the service queue.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from warehouse.errors import UserError

if TYPE_CHECKING:
    from agents.batch import BatchResult


def run_command(
    dataset_dir: Annotated[Path, typer.Argument(help="contract dataset folder")],
    out: Annotated[Path, typer.Option("--out", help="folder for tickets.jsonl and report.md")],
) -> None:
    """Load, score and triage a dataset; write tickets.jsonl and report.md (no write-back)."""
    from agents.batch import run_dataset
    from warehouse.settings import get_settings

    batch = run_dataset(dataset_dir, out, get_settings())
    _print_summary(batch, out)


def demo_command(
    out: Annotated[Path, typer.Option("--out", help="folder for the dataset and the run")] = Path(
        "tally-demo"),
    seed: Annotated[int, typer.Option(help="generator seed")] = 7,
    days: Annotated[int, typer.Option(help="simulated days")] = 14,
    skus: Annotated[int, typer.Option(help="items in the catalogue")] = 200,
    top: Annotated[int, typer.Option(help="tickets to print")] = 5,
) -> None:
    """Generate a demo warehouse, run Tally on it and print the top tickets explained."""
    from pydantic import ValidationError
    from rich.console import Console
    from rich.panel import Panel

    from agents.batch import run_dataset
    from sim.generator import GeneratorConfig, generate
    from warehouse.settings import get_settings
    from warehouse.writer import write_dataset

    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    try:
        config = GeneratorConfig(seed=seed, days=days, skus=skus)
    except ValidationError as err:
        first = err.errors()[0]
        raise UserError(f"--{first['loc'][0]}: {first['msg']}") from None
    dataset_dir = out / "dataset"
    write_dataset(generate(config, progress=True), dataset_dir)
    batch = run_dataset(dataset_dir, out / "run", get_settings())
    console = Console()
    for t in batch.top(top):
        body = (f"{t.explanation}\n\n[bold]action[/] {t.action.type.value} "
                f"{t.action.params}\n[dim]confidence {t.confidence:.2f} · risk "
                f"{t.risk_score:.2f} · {len(t.evidence)} evidence items[/]")
        console.print(Panel(body, title=f"{t.severity.value} · {t.root_cause.value} · "
                                         f"{t.ticket_id}", subtitle=t.summary, expand=False),
                      markup=True, highlight=False)
    _print_summary(batch, out / "run")


def _print_summary(batch: BatchResult, out: Path) -> None:
    from collections import Counter

    from rich.console import Console
    from rich.table import Table

    tickets = batch.tickets
    table = Table(title=f"{len(tickets)} tickets written to {out / 'tickets.jsonl'}")
    table.add_column("root cause")
    table.add_column("tickets", justify="right")
    for cause, n in sorted(Counter(t.root_cause.value for t in tickets).items()):
        table.add_row(cause, str(n))
    console = Console()
    console.print(table)
    console.print(" · ".join(f"{k[:-2]} {v:.1f}s" for k, v in batch.timings.items()))


def triage_command(
    site: Annotated[str, typer.Option("--site", help="the site whose events are triaged")
                    ] = "default",
) -> None:
    """Score one site's events in the store and open their tickets in the queue.

    Flags fold as in ``tally run`` (systemic tickets with their occurrences as children,
    unexplained write-offs and dismissals under one parent each). The tickets wait for
    approval in ``tally serve`` (API and web UI); their graphs pause on the service's
    checkpointer, so a decision there resumes them. Ticket ids digest the flagged
    transactions: running it again opens only what is new.
    """
    from collections import Counter

    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table
    from sqlmodel import Session

    from agents.checkpoints import sqlite_checkpointer
    from api.service import OnlineScorer, ServiceTriage, open_store, open_wms
    from api.tickets import site_tickets
    from warehouse.settings import get_settings

    settings = get_settings()
    store = open_store(settings).for_site(site)
    data = store.snapshot()  # read once: fit, batch scoring and the triage view share it
    scorer = OnlineScorer(store, snapshot=data)
    if not scorer.fitted:
        raise UserError(f"the store holds no transactions at site {site}: run "
                        f"`tally ingest DIR --site {site}` first")
    flags = scorer.batch_flags(data)
    triage = ServiceTriage(settings, store=store, scorer=scorer, wms=open_wms(settings))
    saver = sqlite_checkpointer(settings.data_dir / "checkpoints.sqlite")
    try:
        triage.graph_factory(saver, data)
        with Progress(transient=True) as bar:
            task = bar.add_task("triaging incidents", total=None)
            triage.open_flags(flags, on_ticket=lambda: bar.advance(task))
    finally:
        saver.conn.close()
    with Session(store.engine) as session:
        stored = site_tickets(session, site=store.site)
    queue = [r for r in stored if r.parent_ticket_id is None]
    by = Counter((r.root_cause, r.severity) for r in queue)
    table = Table("root cause", "severity", "tickets",
                  title=f"{len(queue)} tickets in the queue, {len(stored)} in all")
    for (cause, severity), n in sorted(by.items()):
        table.add_row(cause, severity, str(n))
    console = Console()
    console.print(table)
    console.print("work them with `tally serve` (web UI at /ui, API at /v1/tickets)")
