"""Events onto the partitions: a dataset replayed (``tally publish``) or any list of events."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from api.stream.broker import Transport, partition_of
from api.stream.worker import encode
from warehouse.contract import TRANSACTION_COLUMNS
from warehouse.settings import Settings


@dataclass
class Sent:
    """What a publisher sent."""

    events: int = 0
    messages: int = 0


def frame_events(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """A transactions frame's rows as contract events (None for blanks, ts ISO-8601)."""
    cols = [c for c in TRANSACTION_COLUMNS if c in frame]
    for row in frame[cols].to_dict("records"):
        event: dict[str, Any] = {str(k): (None if v is None or v != v else v)
                                 for k, v in row.items()}
        event["ts"] = pd.Timestamp(row["ts"]).isoformat()
        yield event


async def publish_events(transport: Transport, events: Iterable[dict[str, Any]], *, site: str,
                         batch: int = 100) -> Sent:
    """Publish events by (site, SKU) partition, in the order given, ``batch`` per message."""
    sent = Sent()
    pending: dict[int, list[dict[str, Any]]] = {}

    async def flush(partition: int) -> None:
        rows = pending.pop(partition)
        await transport.publish(encode(site, rows), partition)
        sent.events += len(rows)
        sent.messages += 1

    for event in events:
        partition = partition_of(site, str(event.get("sku")), transport.partitions)
        pending.setdefault(partition, []).append(event)
        if len(pending[partition]) >= batch:
            await flush(partition)
    for partition in sorted(pending):
        await flush(partition)
    return sent


async def publish_dataset(path: Path, *, site: str, settings: Settings, batch: int = 100
                          ) -> Sent:
    """Replay a dataset folder's transactions onto the work queue of ``settings``."""
    from warehouse.errors import UserError
    from warehouse.loader.load import load_dataset

    if not settings.broker_url:
        raise UserError("TALLY_BROKER_URL is not set: name the RabbitMQ (amqp://) or NATS "
                        "(nats://) broker to publish to")
    data = load_dataset(path).dataset
    transport = Transport(settings.broker_url, prefix=settings.stream_prefix,
                          partitions=settings.stream_partitions)
    await transport.broker.connect()
    try:
        await transport.declare()
        return await publish_events(transport, frame_events(data.transactions), site=site,
                                    batch=batch)
    finally:
        await transport.close()
