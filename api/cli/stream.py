"""``tally publish`` and ``tally worker``: a dataset onto the work queue, and its workers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def publish_command(
    dataset: Annotated[Path, typer.Argument(help="dataset folder (its transactions file)")],
    site: Annotated[str, typer.Option(help="the site the events belong to")] = "default",
    batch: Annotated[int, typer.Option(min=1, help="events per message")] = 100,
) -> None:
    """Replay a dataset's transactions onto the work queue (TALLY_BROKER_URL), by site and SKU.

    Each partition gets its events in log order; a worker (`tally worker`) stores and scores
    them. For tests, backfills and demos.
    """
    import asyncio

    from rich.console import Console

    from api.stream.publish import publish_dataset
    from warehouse.settings import get_settings

    settings = get_settings()
    sent = asyncio.run(publish_dataset(dataset, site=site, settings=settings, batch=batch))
    Console().print(f"published {sent.events} events of site {site} in {sent.messages} "
                    f"messages over {settings.stream_partitions} partitions")


def worker_command(
    concurrency: Annotated[int, typer.Option(min=1, help="partitions processed at once")] = 1,
    triage: Annotated[bool, typer.Option(help="also triage flags into tickets")] = True,
) -> None:
    """Consume the work queue: store, score and triage (start as many as needed; Ctrl-C stops).

    Stateless: the scorer is rebuilt from the store, a killed worker's partitions go to the
    others, and the store says what was done.
    """
    import asyncio

    from rich.console import Console

    from api.stream.run import run_worker
    from warehouse.settings import get_settings

    consumer = asyncio.run(run_worker(get_settings(), concurrency=concurrency, triage=triage))
    by_partition = ", ".join(f"p{p}: {n}" for p, n in sorted(consumer.by_partition.items()))
    Console().print(f"worker stopped: {consumer.messages} messages ({by_partition or 'none'}),"
                    f" {consumer.parked} parked")
