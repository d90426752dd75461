"""The event API's outbox: stored events and their scoring work commit together, then relay.

Without a broker the single process scores the ``SCORE`` item itself; with one, ``tally
serve`` is the API only and its relay publishes the item onto the partitions, where a
worker scores each event once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from actions.audit import AuditLog
from api.intake import SCORE, Intake
from api.stream.broker import Transport
from api.stream.relay import create_api_app
from api.stream.run import run_worker
from api.worker import WorkQueue
from tests.api_fixtures import auth, make_users, open_store
from warehouse.settings import get_settings


def event(i: int) -> dict:
    return {"txn_id": f"OB{i}", "ts": f"2024-05-01T08:{i:02d}:00+00:00", "type": "PICK",
            "sku": f"A{i % 3}", "qty": 2, "location": "P-01", "user_id": "u1"}


def _count(engine: object, sql: str) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text(sql)).scalar_one())


def test_a_batch_and_its_scoring_item_commit_together_or_not_at_all(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(tmp_path)
    queue = WorkQueue(store.engine)
    intake = Intake(store=store, queue=queue, audit=AuditLog(store.engine), defer_scoring=True)
    intake.accept([event(1), event(2)])
    assert _count(store.engine, "SELECT COUNT(*) FROM transactions") == 2
    assert queue.counts() == {"PENDING": 1}

    def outbox_fails(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(queue, "enqueue_within", outbox_fails)
    with pytest.raises(RuntimeError, match="disk full"):
        intake.accept([event(3)])
    assert _count(store.engine, "SELECT COUNT(*) FROM transactions") == 2  # rolled back
    assert queue.counts() == {"PENDING": 1}


@pytest.mark.service
def test_with_a_broker_the_api_relays_posted_events_to_the_workers(
        amqp_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TALLY_BROKER_URL", amqp_url)
    monkeypatch.setenv("TALLY_STREAM_PREFIX", f"test.{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("TALLY_STREAM_PARTITIONS", "2")
    monkeypatch.setenv("TALLY_DATABASE_URL", f"sqlite:///{tmp_path}/tally.db")
    get_settings.cache_clear()
    settings = get_settings()
    app = create_api_app(settings, worker_poll_s=0.05)
    with TestClient(app) as client:
        token = make_users(app.state.engine, ("ana", "supervisor"))["ana"]
        for batch in ([event(i) for i in range(6)], [event(i) for i in range(3, 9)]):
            answer = client.post("/v1/transactions", json=batch, headers=auth(token))
            assert answer.status_code == 201, answer.text
        deadline = time.monotonic() + 30
        while app.state.queue.counts().get("DONE", 0) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert app.state.queue.counts() == {"DONE": 2}  # both SCORE items relayed
    engine = app.state.engine

    async def work() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_worker(settings, triage=False, stop=stop))
        deadline = time.monotonic() + 60
        while _count(engine, "SELECT COUNT(*) FROM scored_event") < 9 \
                and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        stop.set()
        await task
        cleanup = Transport(amqp_url, prefix=settings.stream_prefix, partitions=2)
        await cleanup.broker.connect()
        await cleanup.delete()
        await cleanup.close()

    asyncio.run(work())
    with engine.connect() as conn:
        scored = [r[0] for r in conn.execute(text("SELECT txn_id FROM scored_event"))]
    assert Counter(scored) == Counter(f"OB{i}" for i in range(9))  # the overlap scored once
    assert _count(engine, f"SELECT COUNT(*) FROM pending_work WHERE kind = '{SCORE}'") == 2
    app.state.relay.close()
