"""Sharing RabbitMQ's partitions among the running workers.

RabbitMQ (3.x) gives a single-active-consumer queue to the consumer that subscribed first,
so every partition would go to the first worker to start and the others would only wait.
Each worker therefore writes a heartbeat row in ``stream_member`` every ``BEAT_S``; the
partitions are dealt out over the live members (sorted ids, partition ``p`` to member
``p mod n``), and whenever the set of members changes (and every ``REDEAL_S``, since a
broker restart lines the consumers up again in the order they reconnect), a worker steps
back (:meth:`api.stream.broker.Transport.step_back`) from every partition that is not its
own, so the partition's own worker, which never steps back from it, ends up first in line. A
worker that dies loses its partitions to the next in line at once (the broker's doing);
its row expires after ``TTL_S`` and the partitions are dealt out again. NATS consumers pull,
so there every worker takes from every partition already and nothing is done.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from api.stream.broker import Transport
from api.stream_tables import StreamMember

log = logging.getLogger(__name__)

BEAT_S = 2.0
"""How often a worker writes its heartbeat (and looks at the others')."""

TTL_S = 10.0
"""A member whose heartbeat is older than this is gone."""

REDEAL_S = 30.0
"""A worker steps back from the partitions not its own this often even when none came or went."""

_T = StreamMember.__table__  # type: ignore[attr-defined]


def owner(members: list[str], partition: int) -> str:
    """The member a partition is dealt to (``members`` sorted)."""
    return members[partition % len(members)]


class Members:
    """The heartbeat rows of one work queue's workers.

    Args:
        engine: the store's database.
        prefix: the work queue (``TALLY_STREAM_PREFIX``).
    """

    def __init__(self, engine: Any, prefix: str) -> None:
        self.engine = engine
        self.prefix = prefix
        self.me = uuid.uuid4().hex

    def beat(self) -> list[str]:
        """Write this worker's heartbeat, forget the expired; the live members, sorted."""
        now = datetime.now(UTC)
        mine = (_T.c.prefix == self.prefix) & (_T.c.member == self.me)
        with self.engine.begin() as conn:
            if not conn.execute(update(_T).where(mine).values(seen_at=now.isoformat())
                                ).rowcount:
                conn.execute(insert(_T).values(prefix=self.prefix, member=self.me,
                                               seen_at=now.isoformat()))
            conn.execute(delete(_T).where(
                _T.c.prefix == self.prefix,
                _T.c.seen_at < (now - timedelta(seconds=TTL_S)).isoformat()))
            return sorted(conn.execute(select(_T.c.member).where(
                _T.c.prefix == self.prefix)).scalars())

    def leave(self) -> None:
        """Remove this worker's row (a clean stop: the others re-deal at once)."""
        with self.engine.begin() as conn:
            conn.execute(delete(_T).where(_T.c.prefix == self.prefix,
                                          _T.c.member == self.me))


async def balance(transport: Transport, members: Members, stop: asyncio.Event,
                  beat_s: float = BEAT_S) -> None:
    """Beat, and step back from the partitions not this worker's, until ``stop`` is set.

    Call after the transport has subscribed to every partition, so a new worker is in
    every line before the others see its row and step back.
    """
    seen: list[str] = []
    dealt = 0.0
    while not stop.is_set():
        try:
            alive = await asyncio.to_thread(members.beat)
        except Exception as exc:  # noqa: BLE001 - the database away: keep the partitions
            log.warning("heartbeat failed (partitions kept as they are): %s", exc)
            alive = seen
        due = time.monotonic() - dealt >= REDEAL_S
        if (alive != seen or due) and members.me in alive:
            seen, dealt = alive, time.monotonic()
            mine = [p for p in range(transport.partitions) if owner(alive, p) == members.me]
            log.info("%d workers: this one takes partitions %s", len(alive), mine)
            for partition in (p for p in range(transport.partitions) if p not in mine):
                try:
                    await transport.step_back(partition)
                except Exception as exc:  # noqa: BLE001 - the broker away: again next beat
                    log.warning("partition %d: could not step back: %s", partition, exc)
                    dealt = 0.0
        try:
            await asyncio.wait_for(stop.wait(), beat_s)
        except TimeoutError:
            pass
    try:
        await asyncio.to_thread(members.leave)
    except Exception as exc:  # noqa: BLE001 - its row expires anyway
        log.warning("could not remove this worker's heartbeat: %s", exc)
