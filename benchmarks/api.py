"""Sustained event ingest over loopback: ``POST /v1/transactions`` in batches and one by one.

Starts ``tally serve`` as its own process on a fresh database (a SQLite file in a temporary
data dir, and a PostgreSQL database created and dropped here), posts unique contract events
for ``--seconds`` per mode from ``--clients`` threads, then counts what the store holds:
every acknowledged event must be there (events lost = acknowledged - stored, must be 0).

Usage: python benchmarks/api.py [--seconds 60] [--db sqlite,postgres] [--batch 500]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

PG_ADMIN = os.environ.get("TALLY_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
TALLY = str(Path(sys.executable).with_name("tally"))
START = datetime(2024, 5, 1, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_db() -> Iterator[str]:
    """A fresh PostgreSQL database for one run, dropped afterwards."""
    import psycopg

    name = f"tally_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{PG_ADMIN.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def server(database_url: str | None) -> Iterator[tuple[str, str, str]]:
    """``tally serve`` on a free loopback port; yields its URL, a supervisor's key and the
    database URL in force (the embedded SQLite file when ``database_url`` is None)."""
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "TALLY_DATA_DIR": data_dir, "TALLY_ENV": "dev"}
        if database_url:
            env["TALLY_DATABASE_URL"] = database_url
        in_force = database_url or f"sqlite:///{Path(data_dir).resolve() / 'tally.db'}"
        added = subprocess.run([TALLY, "users", "add", "bench", "--role", "supervisor"],
                               env=env, capture_output=True, text=True, check=True)
        token = added.stdout.strip().splitlines()[-1]
        port = free_port()
        proc = subprocess.Popen([TALLY, "serve", "--port", str(port)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    assert proc.stderr is not None  # stderr=PIPE
                    raise RuntimeError(f"server did not start: {proc.stderr.read()[-2000:]}")
                time.sleep(0.2)
            yield url, token, in_force
        finally:
            proc.terminate()
            proc.wait(timeout=30)


class Load:
    """Posts unique events for a fixed time from several threads; keeps latencies."""

    def __init__(self, url: str, token: str, *, batch: int, seconds: float, clients: int,
                 prefix: str) -> None:
        self.url, self.batch, self.seconds, self.clients = url, batch, seconds, clients
        self.headers = {"Authorization": f"Bearer {token}"}
        self.prefix = prefix
        self.latencies: list[float] = []
        self.acknowledged = 0
        self.errors = 0
        self._lock = threading.Lock()

    def events(self, client_no: int, start: int) -> list[dict[str, object]]:
        out = []
        for i in range(start, start + self.batch):
            kind = "RECEIPT" if i % 5 == 0 else "PICK"
            out.append({
                "txn_id": f"{self.prefix}-{client_no}-{i}",
                "ts": (START + timedelta(seconds=i)).isoformat(),
                "type": kind, "sku": f"SKU{i % 200:04d}", "qty": 1 + i % 7,
                "location": f"L{i % 50:03d}", "user_id": f"U{i % 12}",
            })
        return out

    def client(self, client_no: int, stop_at: float) -> None:
        sent = 0
        with httpx.Client(base_url=self.url, headers=self.headers, timeout=60) as http:
            while time.perf_counter() < stop_at:
                rows = self.events(client_no, sent)
                body: object = rows if self.batch > 1 else rows[0]
                began = time.perf_counter()
                answer = http.post("/v1/transactions", json=body)
                took = time.perf_counter() - began
                with self._lock:
                    self.latencies.append(took)
                    if answer.status_code == 201:
                        self.acknowledged += answer.json()["accepted"]
                    else:
                        self.errors += 1
                sent += self.batch

    def run(self) -> float:
        stop_at = time.perf_counter() + self.seconds
        threads = [threading.Thread(target=self.client, args=(n, stop_at))
                   for n in range(self.clients)]
        began = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - began


def stored(database_url: str, prefix: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        count = conn.execute(text("SELECT count(*) FROM transactions WHERE txn_id LIKE :p"),
                             {"p": f"{prefix}-%"}).scalar_one()
    engine.dispose()
    return int(count)


def measure(name: str, database_url: str | None, args: argparse.Namespace) -> None:
    """Both modes against one fresh database; prints one line per mode."""
    with server(database_url) as (url, token, in_force):
        for mode, batch in (("batch", args.batch), ("single", 1)):
            prefix = f"{mode}{uuid.uuid4().hex[:6]}"
            load = Load(url, token, batch=batch, seconds=args.seconds, clients=args.clients,
                        prefix=prefix)
            took = load.run()
            lat = sorted(load.latencies)
            p50 = statistics.median(lat) * 1000
            p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] * 1000
            lost = load.acknowledged - stored(in_force, prefix)
            print(f"{name:<9} {mode:<7} {batch:>6} {load.acknowledged:>10,} "
                  f"{load.acknowledged / took:>10,.0f} {p50:>9.1f} {p99:>9.1f} "
                  f"{load.errors:>7} {lost:>5}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="per mode and database")
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--batch", type=int, default=500, help="events per batch request")
    parser.add_argument("--clients", type=int, default=2, help="concurrent client threads")
    args = parser.parse_args()
    print(f"{'database':<9} {'mode':<7} {'events':>6} {'accepted':>10} {'events/s':>10} "
          f"{'p50 ms':>9} {'p99 ms':>9} {'errors':>7} {'lost':>5}")
    for name in args.db.split(","):
        if name == "sqlite":
            measure("sqlite", None, args)
        elif name == "postgres":
            with postgres_db() as url:
                measure("postgres", url, args)
        else:
            parser.error(f"unknown database {name!r}: sqlite or postgres")


if __name__ == "__main__":
    main()
