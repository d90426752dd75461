"""Events from a real RabbitMQ queue reach the store through the same intake as HTTP."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import aio_pika
import pytest

from actions.audit import AuditLog
from api.intake import Intake
from api.queue_consumer import consume, parse_body, rejects_queue
from api.worker import WorkQueue
from tests.api_store import TableStore

pytestmark = pytest.mark.service


def event(i: int, **changes: object) -> dict:
    row = {"txn_id": f"Q{i}", "ts": "2024-05-01T08:00:00+00:00", "type": "PICK", "sku": "A1",
           "qty": 2, "location": "P-01", "user_id": "u1"}
    row.update(changes)
    return row


async def publish(url: str, queue: str, bodies: list[bytes]) -> None:
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(queue, durable=True)
        for body in bodies:
            await channel.default_exchange.publish(aio_pika.Message(body), routing_key=queue)


async def drain(url: str, queue: str) -> list[dict]:
    """Read and delete a queue, returning its JSON messages."""
    connection = await aio_pika.connect_robust(url)
    out: list[dict] = []
    async with connection:
        channel = await connection.channel()
        q = await channel.declare_queue(queue, durable=True)
        while (message := await q.get(fail=False)) is not None:
            out.append(json.loads(message.body))
            await message.ack()
        await q.delete(if_unused=False, if_empty=False)
    return out


@pytest.fixture
def intake(tmp_path: Path) -> Intake:
    store = TableStore(f"sqlite:///{tmp_path}/q.db")
    return Intake(store=store, queue=WorkQueue(store.engine), audit=AuditLog(store.engine))


def test_messages_land_in_the_store_and_bad_rows_are_parked(amqp_url: str, intake: Intake) -> None:
    queue = f"tally.test.{uuid.uuid4().hex[:10]}"
    bodies = [
        json.dumps([event(1), event(2)]).encode(),
        json.dumps([event(3), event(4, qty="lots"), event(5, type="TELEPORT")]).encode(),
        b"not json at all",
        json.dumps(event(1)).encode(),  # a re-delivery of Q1
    ]

    async def scenario() -> tuple[object, list[dict]]:
        await publish(amqp_url, queue, bodies)
        stats = await consume(intake, url=amqp_url, queue=queue, max_messages=4,
                              idle_timeout_s=10)
        parked = await drain(amqp_url, rejects_queue(queue))
        await drain(amqp_url, queue)
        return stats, parked

    stats, parked = asyncio.run(scenario())
    assert intake.store.txn_ids() == ["Q1", "Q2", "Q3"]
    assert stats.messages == 4
    assert stats.rejected_rows == 2 and stats.bad_messages == 1
    assert len(parked) == 2
    fields = {e["field"] for e in parked[0]["errors"]}
    assert {e["index"] for e in parked[0]["errors"]} == {1, 2}
    assert "qty" in fields and "type" in fields
    assert parked[1]["errors"][0]["field"] == "body"
    assert parked[1]["body"] == "not json at all"


def test_consumer_stops_when_idle(amqp_url: str, intake: Intake) -> None:
    queue = f"tally.test.{uuid.uuid4().hex[:10]}"

    async def scenario() -> object:
        stats = await consume(intake, url=amqp_url, queue=queue, idle_timeout_s=0.5)
        await drain(amqp_url, rejects_queue(queue))
        await drain(amqp_url, queue)
        return stats

    stats = asyncio.run(scenario())
    assert stats.messages == 0 and intake.store.txn_ids() == []


@pytest.mark.parametrize(
    ("body", "rows", "why"),
    [(b'{"txn_id": "a"}', 1, None), (b"[]", 0, "empty list"), (b"\xff\xfe", 0, "not JSON")],
)
def test_parse_body(body: bytes, rows: int, why: str | None) -> None:
    parsed, reason = parse_body(body)
    assert len(parsed) == rows
    assert (reason is None) if why is None else (why in reason)
