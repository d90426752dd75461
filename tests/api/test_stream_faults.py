"""Faults while a site streams in, on loopback: kill -9 of workers, broker and database restarts.

Real ``tally worker`` processes on a throwaway PostgreSQL database. Whatever is killed and
whenever, afterwards every event is stored once and scored once, and the flags and the
tickets' transactions are those of the batch run of the same log (the streams here meet no
rule that reads rows after the one it flags, ``tests/stream_rig.py``); no transaction is in
two tickets.

The machine's PostgreSQL, RabbitMQ and NATS servers are shared by its other tests, so the
restarts are done on servers of the test's own (``tests/private_servers.py``): a NATS
JetStream server and a RabbitMQ node killed with -9 and restarted on their store folders,
and a PostgreSQL cluster stopped with ``-m immediate`` (a crash) and restarted. The worker
kills run on the shared RabbitMQ, and a worker started after another gets its share of the
partitions (RabbitMQ would give the first one all of them).
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from api.service import open_store
from api.stream.balance import BEAT_S
from api.stream.broker import Transport
from api.stream.publish import publish_events
from scoring import Scorer
from tests.private_servers import Nats, Postgres, RabbitMq
from tests.stream_rig import Site, judge, make_site, progress, scored_count, settled, streamed
from warehouse.dataset import Dataset
from warehouse.settings import Settings

pytestmark = [pytest.mark.service, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SETTLE_S = 420
SHORT = 60
_JUDGED: set[int] = set()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dataset, Site]:
    return make_site(tmp_path_factory.mktemp("site") / "history", stream=160)


@pytest.fixture(scope="module")
def short_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dataset, Site]:
    """A shorter stream for the server restarts (each restart is one point in the stream)."""
    return make_site(tmp_path_factory.mktemp("short") / "history", stream=SHORT)


def _env(pg_url: str, broker_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    env.update(TALLY_DATABASE_URL=pg_url, TALLY_BROKER_URL=broker_url, TALLY_ENV="test",
               TALLY_STREAM_PREFIX=f"faults.{uuid.uuid4().hex[:10]}",
               TALLY_STREAM_PARTITIONS="4", TALLY_SCORER_REFIT_EVENTS="0",
               TALLY_TRIAGE_SETTLE_S="0", TALLY_WORK_LEASE_S="20",
               TALLY_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    return env


class Workers:
    """``tally worker`` processes: started, killed with -9, restarted."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: dict[int, subprocess.Popen[bytes]] = {}
        self.kills = 0

    def start(self, slot: int) -> None:
        log = (self.logs / f"worker{slot}.log").open("ab")
        self.procs[slot] = subprocess.Popen(
            [sys.executable, "-c", "from api.cli.main import main; main()", "worker"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    def kill(self, slot: int) -> None:
        self.procs[slot].send_signal(signal.SIGKILL)
        self.procs[slot].wait(10)
        self.kills += 1

    def consumed(self, slot: int) -> dict[int, int]:
        """Messages per partition of the worker in ``slot`` (from its log, once stopped)."""
        found = re.findall(r"worker stopped: \d+ messages \(([^)]*)\)",
                           (self.logs / f"worker{slot}.log").read_text())
        assert found, f"worker {slot} did not report what it consumed"
        return {int(p[1:]): int(n) for p, n in re.findall(r"(p\d+): (\d+)", found[-1])}

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _prepare(site: tuple[Dataset, Site], env: dict[str, str]) -> tuple[object, Site]:
    """The site's history in the test's database; the reference judged once per site."""
    history, rig = site
    store = open_store(Settings(database_url=env["TALLY_DATABASE_URL"]))
    store.ingest(rig.history_dir)
    if id(rig) not in _JUDGED:  # the batch run and scoring in order: the slow part
        judge(rig, Scorer().fit(store.snapshot()), history)
        _JUDGED.add(id(rig))
    return store, rig


async def _publish(env: dict[str, str], events: list[dict], *, pause_s: float = 0.0) -> None:
    transport = Transport(env["TALLY_BROKER_URL"], prefix=env["TALLY_STREAM_PREFIX"],
                          partitions=4)
    await transport.broker.connect()
    await transport.declare()
    for start in range(0, len(events), 20):
        await publish_events(transport, events[start:start + 20], site="default", batch=5)
        await asyncio.sleep(pause_s)
    await transport.close()


async def _cleanup(env: dict[str, str]) -> None:
    transport = Transport(env["TALLY_BROKER_URL"], prefix=env["TALLY_STREAM_PREFIX"],
                          partitions=4)
    await transport.broker.connect()
    await transport.delete()
    await transport.close()


def _wait(check: object, timeout: float, during: object = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        if during is not None:
            during()  # type: ignore[operator]
        time.sleep(1.0)
    return False


def _assert_same_as_the_batch_run(store: object, rig: Site) -> None:
    assert not rig.lookahead, f"the stream meets rules that read later rows: {rig.lookahead}"
    ids = {e["txn_id"] for e in rig.events}
    out = streamed(store.engine, ids)  # type: ignore[attr-defined]
    assert sorted(out.stored) == sorted(ids)  # 0 lost, 0 duplicated
    assert Counter(out.scored) == Counter(ids)
    assert out.flagged == rig.flagged
    assert not out.failed, f"work given up on: {out.failed}"
    assert not [t for t, n in Counter(out.ticketed).items() if n > 1]
    assert set(out.ticketed) == rig.ticketed


def test_two_workers_killed_at_random_points_lose_and_repeat_nothing(
        pg_url: str, amqp_url: str, site: tuple[Dataset, Site], tmp_path: Path) -> None:
    env = _env(pg_url, amqp_url, tmp_path)
    store, rig = _prepare(site, env)
    workers = Workers(env, tmp_path)
    chance = random.Random(14)
    try:
        workers.start(0)
        workers.start(1)
        asyncio.run(_publish(env, rig.events))
        # kill points by progress, not by the clock, so a fast machine gets its kills too:
        # three random shares of the events scored (one poll a second, one kill a poll)
        kill_at = sorted(chance.uniform(0.05, 0.6) for _ in range(3))
        engine = store.engine  # type: ignore[attr-defined]

        def kill_some() -> None:
            if kill_at and scored_count(engine) >= kill_at[0] * len(rig.events):
                kill_at.pop(0)
                slot = chance.randrange(2)
                workers.kill(slot)
                workers.start(slot)

        done = _wait(settled(store.engine, len(rig.events)), SETTLE_S,  # type: ignore[attr-defined]
                     during=kill_some)
    finally:
        workers.stop_all()
        asyncio.run(_cleanup(env))
    assert done, (f"not settled in {SETTLE_S} s after {workers.kills} kills: "
                  f"{progress(engine)} (logs in {tmp_path})")
    assert workers.kills >= 2
    _assert_same_as_the_batch_run(store, rig)


@pytest.mark.parametrize("kind", ["nats", "rabbit"])
def test_a_broker_restart_mid_stream_loses_and_repeats_nothing(
        kind: str, pg_url: str, short_site: tuple[Dataset, Site], tmp_path: Path) -> None:
    broker = Nats(tmp_path / "jetstream") if kind == "nats" else RabbitMq()
    try:
        broker.start()
        env = _env(pg_url, broker.url, tmp_path)
        store, rig = _prepare(short_site, env)
        engine = store.engine  # type: ignore[attr-defined]
        workers = Workers(env, tmp_path)
        half = len(rig.events) // 2
        try:
            workers.start(0)
            workers.start(1)
            asyncio.run(_publish(env, rig.events[:half]))
            _wait(lambda: scored_count(engine) >= half // 3, 120)
            broker.kill()  # mid-stream: messages in flight, some acknowledged, most not
            time.sleep(2)
            broker.start()  # the same store folder: what was persisted comes back
            asyncio.run(_publish(env, rig.events[half:]))
            done = _wait(settled(engine, len(rig.events)), SETTLE_S)
        finally:
            workers.stop_all()
        assert done, (f"not settled in {SETTLE_S} s after the restart: {progress(engine)} "
                      f"(logs in {tmp_path})")
        for slot in (0, 1):
            workers.consumed(slot)  # each stopped cleanly, saying what it consumed
        _assert_same_as_the_batch_run(store, rig)
    finally:
        broker.remove()


def test_a_postgres_restart_mid_stream_loses_and_repeats_nothing(
        amqp_url: str, short_site: tuple[Dataset, Site], tmp_path: Path) -> None:
    pg = Postgres()
    try:
        pg.start()
        env = _env(pg.url, amqp_url, tmp_path)
        store, rig = _prepare(short_site, env)
        workers = Workers(env, tmp_path)
        engine = store.engine  # type: ignore[attr-defined]
        try:
            workers.start(0)
            workers.start(1)
            asyncio.run(_publish(env, rig.events))
            _wait(lambda: scored_count(engine) >= len(rig.events) // 3, 120)
            pg.crash()  # the store away mid-stream: commits in flight fail, pools go stale
            time.sleep(3)
            pg.start()  # recovers from its WAL
            engine.dispose()  # the test's own pooled connections died with the server
            done = _wait(settled(engine, len(rig.events)), SETTLE_S)
            alive = [slot for slot, proc in workers.procs.items() if proc.poll() is None]
        finally:
            workers.stop_all()
            asyncio.run(_cleanup(env))
        assert done, (f"not settled in {SETTLE_S} s after the restart: {progress(engine)} "
                      f"(logs in {tmp_path})")
        assert alive == [0, 1], "a worker died of the outage instead of waiting it out"
        _assert_same_as_the_batch_run(store, rig)
    finally:
        pg.remove()


def test_a_worker_started_later_gets_its_share_of_the_partitions(
        pg_url: str, amqp_url: str, short_site: tuple[Dataset, Site], tmp_path: Path) -> None:
    """RabbitMQ gives every partition to the first subscriber; the second must not idle."""
    env = _env(pg_url, amqp_url, tmp_path)
    store, rig = _prepare(short_site, env)
    engine = store.engine  # type: ignore[attr-defined]
    workers = Workers(env, tmp_path)
    third = len(rig.events) // 3
    try:
        workers.start(0)
        asyncio.run(_publish(env, rig.events[:third]))
        assert _wait(lambda: scored_count(engine) > 0, 120), "worker 0 scored nothing"
        workers.start(1)  # worker 0 is first in every partition's line by now
        assert _wait(lambda: _members(engine) == 2, 120), "worker 1 never showed up"
        time.sleep(2 * BEAT_S)  # worker 0 sees it and steps back from worker 1's partitions
        asyncio.run(_publish(env, rig.events[third:]))
        done = _wait(settled(engine, len(rig.events)), SETTLE_S)
    finally:
        workers.stop_all()
        asyncio.run(_cleanup(env))
    assert done, f"not settled in {SETTLE_S} s: {progress(engine)} (logs in {tmp_path})"
    first, second = workers.consumed(0), workers.consumed(1)
    assert second, f"worker 1 idled: worker 0 consumed {first}"
    assert set(first) | set(second) == set(range(4))
    _assert_same_as_the_batch_run(store, rig)


def _members(engine: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text("SELECT COUNT(*) FROM stream_member")).scalar_one())
