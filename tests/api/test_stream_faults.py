"""Faults while a site streams in, on loopback: kill -9 of workers, a broker restart.

Real ``tally worker`` processes on a throwaway PostgreSQL database. Whatever is killed and
whenever, afterwards every event is stored once and scored once, and the flags and the
tickets' transactions are those of one process scoring the same log in order; no
transaction is in two tickets.

The PostgreSQL server and the RabbitMQ broker are shared by the machine's other tests, so
the broker restart is done on a NATS JetStream server of the test's own (its own port and
store folder); the kills run on RabbitMQ.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from api.service import open_store
from api.stream.broker import Transport
from api.stream.publish import publish_events
from scoring import Scorer
from tests.stream_rig import Site, judge, make_site, scored_count, settled, streamed
from warehouse.dataset import Dataset
from warehouse.settings import Settings

pytestmark = [pytest.mark.service, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SETTLE_S = 420


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Dataset, Site]:
    return make_site(tmp_path_factory.mktemp("site") / "history", stream=160)


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
    history, rig = site
    store = open_store(Settings(database_url=env["TALLY_DATABASE_URL"]))
    store.ingest(rig.history_dir)
    judge(rig, Scorer().fit(store.snapshot()), history)
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


def _assert_same_as_one_process(store: object, rig: Site) -> None:
    ids = {e["txn_id"] for e in rig.events}
    out = streamed(store.engine, ids)  # type: ignore[attr-defined]
    assert sorted(out.stored) == sorted(ids)  # 0 lost, 0 duplicated
    assert Counter(out.scored) == Counter(ids)
    assert out.flagged == rig.flagged
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
    assert done, f"not settled in {SETTLE_S} s after {workers.kills} kills (logs in {tmp_path})"
    assert workers.kills >= 2
    _assert_same_as_one_process(store, rig)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Nats:
    """A NATS JetStream server of the test's own, restartable on the same port and store."""

    def __init__(self, folder: Path) -> None:
        if shutil.which("nats-server") is None:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail("CI=true but nats-server is not installed")
            pytest.skip("nats-server is not installed (set CI=true to require it)")
        self.port = _free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["nats-server", "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd",
             str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("nats-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def test_a_broker_restart_mid_stream_loses_and_repeats_nothing(
        pg_url: str, site: tuple[Dataset, Site], tmp_path: Path) -> None:
    nats = Nats(tmp_path / "jetstream")
    nats.start()
    env = _env(pg_url, nats.url, tmp_path)
    store, rig = _prepare(site, env)
    workers = Workers(env, tmp_path)
    half = len(rig.events) // 2
    try:
        workers.start(0)
        workers.start(1)
        asyncio.run(_publish(env, rig.events[:half]))
        _wait(lambda: len(streamed(store.engine, set()).scored) >= half // 3, 120)  # type: ignore[attr-defined]
        nats.kill()  # mid-stream: messages in flight, some acknowledged, most not
        time.sleep(2)
        nats.start()
        asyncio.run(_publish(env, rig.events[half:]))
        done = _wait(settled(store.engine, len(rig.events)), SETTLE_S)  # type: ignore[attr-defined]
    finally:
        workers.stop_all()
        nats.kill()
    assert done, f"not settled in {SETTLE_S} s after the broker restart (logs in {tmp_path})"
    _assert_same_as_one_process(store, rig)
