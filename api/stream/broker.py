"""The work queue on a broker, through faststream: RabbitMQ or NATS JetStream, one code path.

Events are partitioned by (site, SKU) into ``TALLY_STREAM_PARTITIONS`` partitions, so one
SKU's events stay in order and are scored by one worker at a time:

- **RabbitMQ**: a durable queue ``<prefix>.p<N>`` per partition declared with
  ``x-single-active-consumer``: every worker subscribes to every partition and the broker
  delivers each partition to one of them (the next in line takes over when it dies);
  prefetch 1, so a partition has one message in flight. The broker gives a partition to
  its first subscriber, so workers share them by stepping back
  (:meth:`Transport.step_back`, driven by :mod:`api.stream.balance`).
- **NATS JetStream**: a stream over ``<prefix>.>``, a durable pull consumer per partition
  with ``max_ack_pending`` 1, which every worker pulls from: again one message in flight
  per partition, redelivered after ``ack_wait`` when its worker died.

Rows and bodies a worker cannot take are parked on ``<prefix>.rejects`` with the reasons.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import AckPolicy

Handler = Callable[[bytes, int], Awaitable[None]]
"""What a worker does with one message body of one partition."""

ACK_WAIT_S = 30.0
"""NATS: a message its worker has not acknowledged after this long goes to another one."""


class SteppingBack(Exception):
    """A message this worker held when it stepped back (the broker re-delivers it)."""


def partition_of(site: str, sku: str, partitions: int) -> int:
    """The partition of a (site, SKU): the same on every publisher and worker."""
    return zlib.crc32(f"{site}\x1f{sku}".encode()) % partitions


def _raw(message: Any) -> bytes:
    """The decoder: hand the handler the body's bytes (bad JSON is parked, not lost)."""
    return bytes(message.body)


class Transport:
    """Publish to and consume from the partitions on the broker that ``url`` names.

    Args:
        url: ``amqp://...`` (RabbitMQ) or ``nats://...`` (NATS JetStream).
        prefix: queue / subject names start with this.
        partitions: how many partitions.
    """

    def __init__(self, url: str, *, prefix: str, partitions: int) -> None:
        self.url = url
        self.prefix = prefix
        self.partitions = partitions
        self.kind = "nats" if url.startswith("nats") else "rabbit"
        self.rejects = f"{prefix}.rejects"
        self._subs: dict[int, Any] = {}
        self._gates: dict[int, asyncio.Lock] = {}
        self._generation: Counter[int] = Counter()
        if self.kind == "nats":
            from faststream.nats import JStream, NatsBroker

            self.broker: Any = NatsBroker(url, log_level=logging.DEBUG)
            self._stream = JStream(name=prefix.replace(".", "_").upper(),
                                   subjects=[f"{prefix}.>"])
        else:
            from faststream.rabbit import RabbitBroker

            self.broker = RabbitBroker(url, log_level=logging.DEBUG)

    def name(self, partition: int) -> str:
        """The queue (RabbitMQ) or subject (NATS) of a partition."""
        return f"{self.prefix}.p{partition}"

    def _queue(self, name: str, *, sac: bool) -> Any:
        from faststream.rabbit import RabbitQueue

        return RabbitQueue(name, durable=True,
                           arguments={"x-single-active-consumer": True} if sac else None)

    def subscribe(self, handler: Handler) -> None:
        """Register ``handler`` on every partition (call before :meth:`start`)."""
        for partition in range(self.partitions):
            self._subscribe_one(handler, partition)

    def _subscribe_one(self, handler: Handler, partition: int) -> None:
        gate = self._gates[partition] = asyncio.Lock()

        async def on_message(body: bytes) -> None:
            generation = self._generation[partition]
            async with gate:
                if self._generation[partition] != generation:  # its channel was closed
                    raise SteppingBack(f"partition {partition}: re-delivered to the next in line")
                await handler(body, partition)

        if self.kind == "nats":
            from faststream.nats import ConsumerConfig, PullSub

            self.broker.subscriber(
                self.name(partition), stream=self._stream,
                durable=f"{self._stream.name}_p{partition}",
                pull_sub=PullSub(batch_size=1, timeout=1.0),
                config=ConsumerConfig(max_ack_pending=1, ack_wait=ACK_WAIT_S),
                decoder=_raw, ack_policy=AckPolicy.NACK_ON_ERROR)(on_message)
        else:
            from faststream.rabbit import Channel

            subscriber = self.broker.subscriber(
                self._queue(self.name(partition), sac=True), channel=Channel(prefetch_count=1),
                decoder=_raw, ack_policy=AckPolicy.NACK_ON_ERROR)
            subscriber(on_message)
            self._subs[partition] = subscriber

    async def step_back(self, partition: int) -> None:
        """RabbitMQ: go to the end of the partition's line of consumers (NATS: nothing).

        Once no message of the partition is being handled here, the partition's channel is
        closed: the broker takes this consumer out of the line and puts its unacknowledged
        message back at the queue's head in one step, so the next in line, now active,
        gets the messages in order; aio-pika reopens the channel and consumes again, last
        in line. A message that arrived meanwhile is not handled here (it was put back).
        """
        subscriber = self._subs.get(partition)
        if self.kind != "rabbit" or subscriber is None or subscriber._queue_obj is None:
            return
        async with self._gates[partition]:
            self._generation[partition] += 1
            channel = await subscriber._queue_obj.channel.get_underlay_channel()
            await channel.close()

    async def start(self) -> None:
        """Connect, declare the partitions and the rejects queue, start consuming."""
        await self.broker.start()
        await self.declare()

    async def declare(self) -> None:
        """Declare the partitions and the rejects queue (publishers: before publishing)."""
        if self.kind == "nats":
            js = self.broker.config.connection_state.stream
            await js.add_stream(name=self._stream.name, subjects=[f"{self.prefix}.>"])
            return
        for partition in range(self.partitions):
            await self.broker.declare_queue(self._queue(self.name(partition), sac=True))
        await self.broker.declare_queue(self._queue(self.rejects, sac=False))

    async def publish(self, body: bytes, partition: int) -> None:
        """Publish one message body to a partition (persistent; confirmed by the broker)."""
        await self._send(body, self.name(partition))

    async def park(self, body: bytes) -> None:
        """Publish a rejects record (JSON) to the rejects queue."""
        await self._send(body, self.rejects)

    async def _send(self, body: bytes, name: str) -> None:
        if self.kind == "nats":
            await self.broker.publish(body, name, stream=self._stream.name)
        else:
            await self.broker.publish(body, name, persist=True)

    async def drain_rejects(self) -> list[dict[str, Any]]:
        """Take every parked record off the rejects queue (an operator's look, tests)."""
        out: list[dict[str, Any]] = []
        if self.kind == "nats":
            js = self.broker.config.connection_state.stream
            sub = await js.pull_subscribe(self.rejects, stream=self._stream.name)
            while True:
                try:
                    batch = await sub.fetch(50, timeout=1.0)
                except TimeoutError:
                    break
                for message in batch:
                    out.append(json.loads(message.data))
                    await message.ack()
            await sub.unsubscribe()
            return out
        queue = await self.broker.declare_queue(self._queue(self.rejects, sac=False))
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            out.append(json.loads(message.body))
        return out

    async def delete(self) -> None:
        """Remove the partitions and the rejects queue from the broker (tests)."""
        if self.kind == "nats":
            await self.broker.config.connection_state.stream.delete_stream(self._stream.name)
            return
        for name in [*(self.name(p) for p in range(self.partitions)), self.rejects]:
            queue = await self.broker.declare_queue(self._queue(name, sac=name != self.rejects))
            await queue.delete(if_unused=False, if_empty=False)

    async def close(self) -> None:
        """Stop consuming and disconnect."""
        await self.broker.stop()
