"""Quiet partitions: the flags of events held for later rows, once no later rows come.

:meth:`scoring.Scorer.stream_event` holds an event while rules that read the log after it
may still change its verdict; the next events of its partition settle it. When a partition's
stream stops, nothing would. Every worker watches the store: a partition whose newest
scored event has not changed for ``idle_s`` seconds (whichever worker scored it, a killed
one included) is flushed once (:meth:`api.stream.worker.StreamWorker.flush`), until it
changes again. Two workers flushing the same partition settle the same log, and a
transaction's flags are queued once, so this repeats nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import func, select

from api.stream.worker import StreamWorker
from api.stream_tables import ScoredEvent

log = logging.getLogger(__name__)

_SCORED = ScoredEvent.__table__  # type: ignore[attr-defined]


class QuietWatch:
    """When each partition last changed, as seen from this worker.

    Args:
        worker: flushes a partition.
        idle_s: how long a partition must stay unchanged before it is flushed.
    """

    def __init__(self, worker: StreamWorker, idle_s: float) -> None:
        self.worker = worker
        self.idle_s = idle_s
        self._seen: dict[tuple[str, int], tuple[int, float]] = {}
        self._flushed: dict[tuple[str, int], int] = {}

    def newest(self) -> dict[tuple[str, int], int]:
        """The newest scored event's id of every (site, partition) in the store."""
        with self.worker.engine.connect() as conn:
            rows = conn.execute(select(_SCORED.c.site, _SCORED.c.partition,
                                       func.max(_SCORED.c.id))
                                .group_by(_SCORED.c.site, _SCORED.c.partition))
            return {(site, int(part)): int(top) for site, part, top in rows}

    def due(self, now: float) -> list[tuple[str, int]]:
        """The partitions unchanged for ``idle_s`` and not flushed since they last changed."""
        out = []
        for key, top in self.newest().items():
            if self._seen.get(key, (None, 0.0))[0] != top:
                self._seen[key] = (top, now)
            elif now - self._seen[key][1] >= self.idle_s and self._flushed.get(key) != top:
                out.append(key)
        return out

    def tick(self) -> int:
        """Flush the partitions due now; how many transactions' flags were queued."""
        queued = 0
        for site, partition in self.due(time.monotonic()):
            queued += self.worker.flush(site, partition)
            self._flushed[(site, partition)] = self._seen[(site, partition)][0]
        return queued


async def watch_quiet(worker: StreamWorker, idle_s: float, stop: asyncio.Event) -> None:
    """Flush quiet partitions until ``stop`` is set (``idle_s`` 0: never)."""
    if not idle_s:
        return
    watch = QuietWatch(worker, idle_s)
    while not stop.is_set():
        try:
            queued = await asyncio.to_thread(watch.tick)
            if queued:
                log.info("quiet partitions: flags of %d held events queued", queued)
        except Exception:  # noqa: BLE001 - the store away: look again next time
            log.exception("flushing quiet partitions failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=max(idle_s / 4, 0.5))
        except TimeoutError:
            pass
