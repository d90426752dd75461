"""Quiet partitions: flushed once after ``idle_s`` without a new scored event, again after news."""

from __future__ import annotations

from typing import Any

from api.stream.quiet import QuietWatch


class _Worker:
    """The store's newest scored ids per partition, and the flushes asked for."""

    def __init__(self) -> None:
        self.engine: Any = None
        self.flushed: list[tuple[str, int]] = []

    def flush(self, site: str, partition: int) -> int:
        self.flushed.append((site, partition))
        return 1


def test_a_partition_is_flushed_once_it_stays_unchanged_for_idle_s() -> None:
    newest = {("default", 0): 5, ("default", 1): 7}
    watch = QuietWatch(_Worker(), idle_s=10)  # type: ignore[arg-type]
    watch.newest = lambda: dict(newest)  # type: ignore[method-assign]
    assert watch.due(0.0) == []  # first look: the clock starts
    assert watch.due(9.0) == []
    newest[("default", 1)] = 8  # partition 1 moves on at t=9
    assert watch.due(9.0) == []
    assert watch.due(10.0) == [("default", 0)]
    assert watch.due(19.0) == [("default", 0), ("default", 1)]


def test_a_flushed_partition_waits_for_new_events_before_the_next_flush() -> None:
    newest = {("north", 2): 3}
    worker = _Worker()
    watch = QuietWatch(worker, idle_s=0.0)  # type: ignore[arg-type]
    watch.newest = lambda: dict(newest)  # type: ignore[method-assign]
    watch.due(0.0)
    assert watch.tick() == 1 and worker.flushed == [("north", 2)]
    assert watch.tick() == 0  # nothing new since the flush
    newest[("north", 2)] = 4
    watch.tick()  # the change is seen
    assert watch.tick() == 1 and worker.flushed == [("north", 2), ("north", 2)]
