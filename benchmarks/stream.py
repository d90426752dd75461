"""The partitioned work queue under load: one and two ``tally worker`` processes, a kill.

For each run: a fresh PostgreSQL database holding a generated site's history, ``tally
worker`` processes on RabbitMQ (or the ``--broker`` given), then ``--events`` events of the
same site published as fast as the broker takes them. With ``--kill``, the two-worker run
kills one worker with -9 a third of the way through and restarts it. Reported per run:
events/s sustained (first to last scored), event-to-ticket latency p50/p99 (publish ->
the ticket holding the event: created, or joined), events lost (published, not stored
and scored) and duplicated (scored twice, or in two tickets), and the messages each worker
process consumed (its ``worker stopped`` line; a killed process reports none). The anchor,
measured in the same run: the site's scorer fitted on the history in this process,
``score_event`` over the first ``--anchor-events`` events (no broker, no store).

Usage: python -m benchmarks.stream [--events 90000 --days 60 --skus 1000] [--workers 1,2]
       [--kill] [--partitions 8] [--broker amqp://guest:guest@127.0.0.1:5672/]
       [--anchor-events 2000] [--batch 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import create_engine, text

from api.stream.broker import Transport
from api.stream.publish import frame_events, publish_events
from scoring import Scorer
from sim.generator import GeneratorConfig, generate
from warehouse.dataset import Dataset
from warehouse.loader.load import load_dataset
from warehouse.store import Store
from warehouse.writer import write_dataset

PG_ADMIN = os.environ.get("TALLY_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parents[1]


def make_site(args: argparse.Namespace, folder: Path) -> tuple[Path, list[dict[str, Any]]]:
    """A generated site: the history written to ``folder``, and the events to stream."""
    data = generate(GeneratorConfig(seed=args.seed, days=args.days, skus=args.skus))
    tx = data.transactions.reset_index(drop=True)
    start = max(len(tx) - args.events, len(tx) // 3)
    write_dataset(Dataset(data.items, data.locations, tx.iloc[:start], None, {}), folder)
    return folder, list(frame_events(tx.iloc[start:start + args.events]))


def anchor(history: Path, events: list[dict[str, Any]], n: int) -> float:
    """Events/s of ``score_event`` in this process over the first ``n`` events."""
    scorer = Scorer().fit(load_dataset(history).dataset)
    began = time.perf_counter()
    for event in events[:n]:
        scorer.score_event(event)
    return min(n, len(events)) / (time.perf_counter() - began)


def consumed(logs: list[Path]) -> list[int]:
    """Messages each stopped worker process reported (from its ``worker stopped`` lines)."""
    return [int(n) for log in logs if log.exists()
            for n in re.findall(r"worker stopped: (\d+) messages", log.read_text())]


def fresh_database() -> str:
    name = f"tally_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://{PG_ADMIN.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"


def drop_database(url: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def spawn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from api.cli.main import main; main()", "worker"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)


async def publish(env: dict[str, str], events: list[dict[str, Any]], partitions: int,
                  sent_at: dict[str, float], batch: int) -> float:
    transport = Transport(env["TALLY_BROKER_URL"], prefix=env["TALLY_STREAM_PREFIX"],
                          partitions=partitions)
    await transport.broker.connect()
    await transport.declare()
    began = time.time()
    for start in range(0, len(events), 1000):
        chunk = events[start:start + 1000]
        now = time.time()
        sent_at.update((e["txn_id"], now) for e in chunk)
        await publish_events(transport, chunk, site="default", batch=batch)
    took = time.time() - began
    await transport.close()
    return took


async def remove(env: dict[str, str], partitions: int) -> None:
    transport = Transport(env["TALLY_BROKER_URL"], prefix=env["TALLY_STREAM_PREFIX"],
                          partitions=partitions)
    await transport.broker.connect()
    await transport.delete()
    await transport.close()


def counts(engine: Any) -> tuple[int, int]:
    with engine.connect() as conn:
        scored = int(conn.execute(text("SELECT COUNT(*) FROM scored_event")).scalar_one())
        left = int(conn.execute(text("SELECT COUNT(*) FROM pending_work WHERE status IN "
                                     "('PENDING', 'RUNNING')")).scalar_one())
    return scored, left


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def measure(engine: Any, events: list[dict[str, Any]], sent_at: dict[str, float]
            ) -> dict[str, Any]:
    ids = {e["txn_id"] for e in events}
    with engine.connect() as conn:
        stored = [r[0] for r in conn.execute(text("SELECT txn_id FROM transactions"))
                  if r[0] in ids]
        scored = conn.execute(text("SELECT txn_id FROM scored_event")).scalars().all()
        tickets = conn.execute(text("SELECT ticket_id, txn_ids FROM ticket")).all()
        history = conn.execute(text("SELECT ticket_id, ts, kind, detail FROM ticket_event "
                                    "WHERE kind IN ('CREATED', 'EDITED')")).all()
    scored_once = Counter(scored)
    lost = len(ids - set(stored)) + len(ids - set(scored_once))
    in_tickets = Counter(t for _, txn_ids in tickets for t in _json(txn_ids))
    created = {tid: _epoch(ts) for tid, ts, kind, _ in history if kind == "CREATED"}
    on_ticket: dict[str, float] = {}
    for _tid, ts, kind, detail in history:
        if kind == "EDITED":
            for txn in _json(detail).get("joined_txn_ids", []):
                on_ticket[txn] = _epoch(ts)
    for tid, txn_ids in tickets:
        for txn in _json(txn_ids):
            on_ticket.setdefault(txn, created.get(tid, 0.0))
    latency = sorted(on_ticket[t] - sent_at[t] for t in on_ticket if t in sent_at)
    return {
        "lost": lost,
        "duplicated": sum(n - 1 for n in scored_once.values() if n > 1)
        + sum(n - 1 for n in in_tickets.values() if n > 1),
        "tickets": len(tickets),
        "p50": statistics.median(latency) if latency else float("nan"),
        "p99": latency[int(0.99 * (len(latency) - 1))] if latency else float("nan"),
    }


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def run(args: argparse.Namespace, workers: int, kill: bool, history: Path,
        events: list[dict[str, Any]], logs: Path) -> dict[str, Any]:
    url = fresh_database()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLY_")}
    env.update(TALLY_DATABASE_URL=url, TALLY_BROKER_URL=args.broker, TALLY_ENV="test",
               TALLY_STREAM_PREFIX=f"bench.{uuid.uuid4().hex[:10]}",
               TALLY_STREAM_PARTITIONS=str(args.partitions), TALLY_SCORER_REFIT_EVENTS="0",
               TALLY_TRIAGE_SETTLE_S="2", TALLY_WORK_LEASE_S="60",
               TALLY_DATA_DIR=str(logs), PYTHONPATH=str(ROOT))
    store = Store.open(url)
    store.upgrade()
    store.ingest(history)
    engine = create_engine(url)
    worker_logs = [logs / f"w{workers}-{i}.log" for i in range(workers)]
    procs = [spawn(env, log) for log in worker_logs]
    sent_at: dict[str, float] = {}
    result: dict[str, Any] = {}
    killed = False
    try:
        time.sleep(args.warmup)
        publish_s = asyncio.run(publish(env, events, args.partitions, sent_at, args.batch))
        first = last = None
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            scored, left = counts(engine)
            now = time.time()
            if scored and first is None:
                first = now
            if kill and not killed and scored >= len(events) // 3:
                procs[0].send_signal(signal.SIGKILL)
                procs[0].wait(10)
                procs[0] = spawn(env, worker_logs[0])
                killed = True
            if scored >= len(events):
                last = last or now
                if left == 0:
                    break
            time.sleep(1.0)
        result.update(measure(engine, events, sent_at))
        done = counts(engine)[0]
        span = (last or time.time()) - (first or time.time())
        result.update(workers=workers, kill=killed, publish_s=publish_s,
                      events_s=done / span if span > 0 else float("nan"), scored=done)
        return result
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        result["messages"] = consumed(worker_logs)
        asyncio.run(remove(env, args.partitions))
        engine.dispose()
        store.engine.dispose()
        drop_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=90_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2")
    parser.add_argument("--kill", action="store_true", help="kill -9 one worker of the 2-run")
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100, help="events per message at most")
    parser.add_argument("--broker", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--warmup", type=float, default=20.0, help="s for workers to start")
    parser.add_argument("--timeout", type=float, default=3600.0, help="s per run at most")
    parser.add_argument("--anchor-events", type=int, default=2000,
                        help="events the in-process score_event anchor scores")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tally-stream-") as tmp:
        history, events = make_site(args, Path(tmp) / "history")
        print(f"site: {args.days} d, {args.skus} SKUs; streaming {len(events)} events over "
              f"{args.partitions} partitions ({args.broker.split('://')[0]})")
        print(f"anchor: score_event in this process, no broker or store: "
              f"{anchor(history, events, args.anchor_events):.1f} events/s "
              f"(first {min(args.anchor_events, len(events))} events)", flush=True)
        print(f"{'workers':>7} {'kill':>5} {'publish s':>9} {'events/s':>9} {'p50 s':>7} "
              f"{'p99 s':>7} {'tickets':>7} {'lost':>5} {'dup':>4}  messages per worker")
        for n in (int(w) for w in args.workers.split(",")):
            r = run(args, n, args.kill and n > 1, history, events, Path(tmp))
            print(f"{r['workers']:>7} {str(r['kill']):>5} {r['publish_s']:>9.1f} "
                  f"{r['events_s']:>9.1f} {r['p50']:>7.1f} {r['p99']:>7.1f} "
                  f"{r['tickets']:>7} {r['lost']:>5} {r['duplicated']:>4}  "
                  f"{'/'.join(map(str, r['messages']))}", flush=True)


if __name__ == "__main__":
    main()
