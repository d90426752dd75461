"""Service commands: ``tally audit verify``, ``tally users ...`` and ``tally serve``."""

from __future__ import annotations

from typing import Annotated

import typer

audit_app = typer.Typer(help="Check the audit chain.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users and their API keys.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify_command() -> None:
    """Walk the keyed audit chain and its anchored heads; exit 1 on any edit or rewind.

    Fails when a record was edited, deleted, reordered or rehashed without TALLY_AUDIT_KEY,
    or when the chain was cut back behind a head anchored in the data dir.
    """
    from rich.console import Console

    from actions.audit import AuditLog
    from api.db import open_engine

    console = Console()
    report = AuditLog(open_engine(require=("audit_log", "audit_head"))).verify()
    if report.ok:
        console.print(
            f"audit chain intact: {report.records} records, head {report.head_seq} "
            f"hash {report.head_hash}; {report.anchored} anchored head(s) in "
            f"{report.anchor_path} agree"
        )
        return
    console.print(f"[bold red]audit chain broken[/]: {len(report.problems)} problem(s)")
    for problem in report.problems:
        console.print(f"  record {problem.seq}: {problem.problem}")
    raise typer.Exit(1)


@users_app.command("add")
def users_add_command(
    name: Annotated[str, typer.Argument(help="user name, e.g. ana or ana@dc1")],
    role: Annotated[str, typer.Option(help="viewer, supervisor, controller or admin")] = "viewer",
) -> None:
    """Create a user with an API key; the key is printed once and never stored."""
    from sqlmodel import Session

    from api.auth import AuthError, add_user
    from api.db import prepare_database
    from warehouse.cli import UserError

    with Session(prepare_database()) as session:
        try:
            issued = add_user(session, name=name, role=role)
        except AuthError as exc:
            raise UserError(str(exc)) from exc
    typer.echo(f"created {issued.name} ({issued.role}), key id {issued.key_id}")
    typer.echo("API key (shown only now, keep it safe):")
    typer.echo(issued.token)


@users_app.command("list")
def users_list_command() -> None:
    """List users, their roles and the ids of their live keys."""
    from rich.console import Console
    from rich.table import Table
    from sqlmodel import Session

    from api.auth import list_users
    from api.db import prepare_database

    table = Table("name", "role", "active", "created", "key ids")
    with Session(prepare_database()) as session:
        for user in list_users(session):
            table.add_row(user.name, user.role.value, "yes" if user.active else "no",
                          user.created_at, " ".join(user.key_ids) or "-")
    Console().print(table)


@users_app.command("revoke")
def users_revoke_command(
    target: Annotated[str, typer.Argument(help="a user name (all their keys) or one key id")],
) -> None:
    """Revoke one key, or a user and all their keys."""
    from sqlmodel import Session

    from api.auth import AuthError, revoke
    from api.db import prepare_database
    from warehouse.cli import UserError

    with Session(prepare_database()) as session:
        try:
            revoked = revoke(session, target)
        except AuthError as exc:
            raise UserError(str(exc)) from exc
    typer.echo(f"revoked {len(revoked)} key(s): {' '.join(revoked) or '-'}")


def serve_command(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8800,
) -> None:
    """Run the Tally API: events in, scored, triaged into tickets (OpenAPI docs at /docs)."""
    import uvicorn

    from api.service import create_service_app

    uvicorn.run(create_service_app(), host=host, port=port, log_level="info")


def consume_command(
    queue: Annotated[str | None, typer.Option(help="queue to read (TALLY_AMQP_QUEUE)")] = None,
    url: Annotated[str | None, typer.Option(help="AMQP URL (TALLY_AMQP_URL)")] = None,
    idle_timeout: Annotated[
        float | None, typer.Option(help="stop after this many seconds without a message")
    ] = None,
    max_messages: Annotated[int | None, typer.Option(help="stop after this many messages")] = None,
) -> None:
    """Consume WMS events from RabbitMQ into the store (bad rows go to <queue>.rejects).

    Events are stored and queued for scoring; a running ``tally serve`` worker scores them
    and triages what is flagged (pending work lives in the store, so either may restart).
    """
    import asyncio

    from rich.console import Console

    from actions.audit import AuditLog
    from api.intake import Intake
    from api.queue_consumer import consume, rejects_queue
    from api.service import open_store
    from api.worker import WorkQueue
    from warehouse.settings import get_settings

    settings = get_settings()
    store = open_store(settings)
    intake = Intake(store=store, queue=WorkQueue(store.engine), audit=AuditLog(store.engine),
                    defer_scoring=True)
    name = queue or settings.amqp_queue
    console = Console()
    console.print(f"consuming {name} (rejects to {rejects_queue(name)}); Ctrl-C stops")
    stats = asyncio.run(consume(intake, url=url or settings.amqp_url, queue=name,
                                max_messages=max_messages, idle_timeout_s=idle_timeout))
    console.print(f"{stats.messages} messages: {stats.accepted} events stored, "
                  f"{stats.rejected_rows} rows and {stats.bad_messages} bodies rejected")


def triage_command() -> None:
    """Score everything in the store and open one ticket per incident in the service queue.

    The tickets wait for approval in ``tally serve`` (API and web UI); their graphs pause on
    the service's checkpointer, so a decision there resumes them. Ticket ids digest the
    flagged transactions: running it again opens only what is new.
    """
    from collections import Counter

    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from agents.checkpoints import sqlite_checkpointer
    from api.service import OnlineScorer, ServiceTriage, open_store, open_wms
    from warehouse.cli import UserError
    from warehouse.settings import get_settings

    settings = get_settings()
    store = open_store(settings)
    data = store.snapshot()  # read once: fit, batch scoring and the triage view share it
    scorer = OnlineScorer(store, snapshot=data)
    if not scorer.fitted:
        raise UserError("the store holds no transactions: run `tally ingest DIR` first")
    incidents = scorer.batch_incidents(data)
    triage = ServiceTriage(settings, store=store, scorer=scorer, wms=open_wms(settings))
    saver = sqlite_checkpointer(settings.data_dir / "checkpoints.sqlite")
    try:
        triage.graph_factory(saver, data)
        with Progress(transient=True) as bar:
            task = bar.add_task("triaging incidents", total=len(incidents))
            records = triage.open_incidents(incidents, on_ticket=lambda: bar.advance(task))
    finally:
        saver.conn.close()
    by = Counter((r.root_cause, r.severity) for r in records)
    table = Table("root cause", "severity", "tickets", title=f"{len(records)} tickets queued")
    for (cause, severity), n in sorted(by.items()):
        table.add_row(cause, severity, str(n))
    console = Console()
    console.print(table)
    console.print("work them with `tally serve` (web UI at /ui, API at /v1/tickets)")
