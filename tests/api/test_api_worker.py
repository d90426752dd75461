"""The pending-work queue and worker: nothing lost across restarts, failures retried."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, create_engine

from api.worker import PendingWork, Worker, WorkItem, WorkQueue


@pytest.fixture
def engine(tmp_path: object) -> Engine:
    eng = create_engine(f"sqlite:///{tmp_path}/work.db")
    PendingWork.metadata.create_all(eng, tables=[PendingWork.__table__])  # type: ignore[attr-defined]
    return eng


def test_enqueue_dedups_and_worker_processes_in_order(engine: Engine) -> None:
    queue = WorkQueue(engine)
    assert queue.enqueue(kind="FLAGS", dedup_key="flags:T1", payload={"txn_id": "T1"})
    assert queue.enqueue(kind="FLAGS", dedup_key="flags:T2", payload={"txn_id": "T2"})
    assert not queue.enqueue(kind="FLAGS", dedup_key="flags:T1", payload={"txn_id": "T1"})
    seen: list[str] = []
    assert Worker(queue, lambda item: seen.append(item.payload["txn_id"])).drain() == 2
    assert seen == ["T1", "T2"]
    assert queue.counts() == {"DONE": 2}


def test_pending_work_survives_a_restart(engine: Engine) -> None:
    first_server = WorkQueue(engine, lease_s=0.0)
    for i in range(3):
        first_server.enqueue(kind="FLAGS", dedup_key=f"k{i}", payload={"i": i})
    crashed = first_server.claim()  # the first server dies holding this item
    assert crashed is not None and crashed.payload == {"i": 0}
    seen: list[int] = []
    restarted = WorkQueue(create_engine(engine.url), lease_s=0.0)
    Worker(restarted, lambda item: seen.append(item.payload["i"])).drain()
    assert sorted(seen) == [0, 1, 2]
    assert restarted.counts() == {"DONE": 3}


def test_running_item_with_live_lease_is_not_taken_twice(engine: Engine) -> None:
    queue = WorkQueue(engine, lease_s=300)
    queue.enqueue(kind="FLAGS", dedup_key="k", payload={})
    assert queue.claim() is not None
    assert queue.claim() is None


def test_failures_are_retried_then_marked_failed(engine: Engine) -> None:
    queue = WorkQueue(engine, max_attempts=2)
    queue.enqueue(kind="FLAGS", dedup_key="ok", payload={"fail": False})
    queue.enqueue(kind="FLAGS", dedup_key="bad", payload={"fail": True})
    calls: list[int] = []

    def triage(item: WorkItem) -> None:
        calls.append(item.attempts)
        if item.payload["fail"]:
            raise RuntimeError("graph exploded")

    worker = Worker(queue, triage)
    assert worker.drain() == 3  # ok once, bad twice
    assert queue.counts() == {"DONE": 1, "FAILED": 1}
    assert calls == [1, 1, 2]


def test_a_database_out_of_reach_does_not_use_up_the_attempts(engine: Engine) -> None:
    """A store restart mid-triage: the item waits for the database, it is not failed."""
    queue = WorkQueue(engine, max_attempts=2)
    queue.enqueue(kind="FLAGS", dedup_key="k", payload={})
    gone = create_engine("postgresql+psycopg://tally@127.0.0.1:1/none")  # nothing listens
    outages = 4
    calls: list[int] = []

    def triage(item: WorkItem) -> None:
        calls.append(item.attempts)
        if len(calls) <= outages:
            gone.connect()  # refused: the server is away, as during a restart

    worker = Worker(queue, triage)
    assert [worker.run_once() for _ in range(outages)] == [False] * outages  # wait, then retry
    assert queue.counts() == {"PENDING": 1}
    assert worker.run_once() and queue.counts() == {"DONE": 1}
    assert calls == [1] * (outages + 1)  # no attempt was used up by the outage


def test_background_thread_drains(engine: Engine) -> None:
    import time

    queue = WorkQueue(engine)
    seen: list[int] = []
    worker = Worker(queue, lambda item: seen.append(item.id), poll_s=0.02)
    worker.start()
    try:
        for i in range(5):
            queue.enqueue(kind="FLAGS", dedup_key=f"k{i}", payload={})
        deadline = time.monotonic() + 5
        while len(seen) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
    assert len(seen) == 5
