"""``tally serve`` and ``tally consume``: the API service and its queue consumer."""

from __future__ import annotations

from typing import Annotated

import typer


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
