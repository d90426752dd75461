"""Events from a message queue (RabbitMQ, AMQP 0-9-1) into the same intake as the HTTP API.

Each message body is one contract event or a JSON list of them. A message is acknowledged
only after its valid rows are persisted, so a crash re-delivers it and the store's
idempotency on ``txn_id`` ignores what was already stored. Rows that break the contract
(and bodies that are not JSON) are published to ``<queue>.rejects`` with the reasons, so
nothing is silently dropped and nothing valid is lost.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import aio_pika

from api.intake import Intake, RowError


@dataclass
class ConsumeStats:
    """What one consumer run did."""

    messages: int = 0
    accepted: int = 0
    rejected_rows: int = 0
    flagged: int = 0
    bad_messages: int = 0
    errors: list[str] = field(default_factory=list)


def rejects_queue(queue: str) -> str:
    """The queue where a consumer of ``queue`` parks rejected rows and bodies."""
    return f"{queue}.rejects"


def parse_body(body: bytes) -> tuple[list[Any], str | None]:
    """The rows of a message body, or an empty list and why the body is unreadable."""
    try:
        decoded = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return [], f"body is not JSON: {exc}"
    rows = decoded if isinstance(decoded, list) else [decoded]
    if not rows:
        return [], "empty list: send one event or a non-empty list"
    return rows, None


async def consume(
    intake: Intake,
    *,
    url: str,
    queue: str,
    max_messages: int | None = None,
    idle_timeout_s: float | None = None,
    prefetch: int = 64,
) -> ConsumeStats:
    """Consume ``queue`` into ``intake`` until ``max_messages`` or ``idle_timeout_s`` of quiet.

    Args:
        intake: where events go (validated, persisted, scored).
        url: AMQP URL, e.g. ``amqp://guest:guest@127.0.0.1:5672/``.
        queue: the durable queue to read (declared if missing).
        max_messages: stop after this many messages (None: run until idle or cancelled).
        idle_timeout_s: stop after this long without a message (None: wait forever).
        prefetch: unacknowledged messages the broker may hand over at once.
    """
    stats = ConsumeStats()
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=prefetch)
        source = await channel.declare_queue(queue, durable=True)
        await channel.declare_queue(rejects_queue(queue), durable=True)
        try:
            async with source.iterator(timeout=idle_timeout_s) as messages:
                async for message in messages:
                    await _handle(intake, channel, queue, message, stats)
                    if max_messages is not None and stats.messages >= max_messages:
                        break
        except TimeoutError:
            pass  # idle: nothing arrived within idle_timeout_s
    return stats


async def _handle(intake: Intake, channel: aio_pika.abc.AbstractChannel, queue: str,
                  message: aio_pika.abc.AbstractIncomingMessage, stats: ConsumeStats) -> None:
    """Persist one message's valid rows, park its bad ones, then acknowledge it."""
    stats.messages += 1
    rows, unreadable = parse_body(message.body)
    errors: list[RowError] = []
    if unreadable:
        stats.bad_messages += 1
        errors = [RowError(index=0, field="body", message=unreadable)]
    else:
        result = await asyncio.to_thread(intake.accept, rows)
        stats.accepted += result.accepted
        stats.flagged += result.flagged
        stats.rejected_rows += len({e.index for e in result.rejected})
        errors = result.rejected
    if errors:
        await _park(channel, queue, message, errors)
    await message.ack()


async def _park(channel: aio_pika.abc.AbstractChannel, queue: str,
                message: aio_pika.abc.AbstractIncomingMessage, errors: list[RowError]) -> None:
    """Publish the original body and the row errors to the rejects queue."""
    record = {
        "source_queue": queue,
        "message_id": message.message_id,
        "errors": [e.model_dump() for e in errors],
        "body": message.body.decode("utf-8", errors="replace"),
    }
    await channel.default_exchange.publish(
        aio_pika.Message(json.dumps(record).encode(), content_type="application/json",
                         delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
        routing_key=rejects_queue(queue),
    )
