"""Latency of the ticket page's balance plot (``GET /ui/tickets/{id}/plot.svg``).

Generates a warehouse, loads it into a fresh embedded store (as ``tally ingest`` does),
triages it offline and stores the tickets, then serves the app in process and asks for
each ticket's plot: the first request of all (it replays the store's snapshot into the
UI's ledger), each ticket's first request (windowed on its incident, drawn and cached),
and repeats (the cached per-ticket plot). Target: a ticket's plot in < 300 ms.

Usage: python -m benchmarks.plot [--days 60] [--skus 600] [--tickets 40] [--repeats 3]
(as a module: ``benchmarks/api.py`` would shadow the ``api`` package for a script here)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session

from agents.batch import score_and_triage
from api.app import create_app
from api.auth import add_user
from api.tickets import save_ticket
from sim.generator import GeneratorConfig, generate
from warehouse.settings import get_settings
from warehouse.store import Store
from warehouse.writer import write_dataset


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms   "
            f"max {ordered[-1] * 1000:7.1f} ms   (n={len(ordered)})")


def main() -> None:
    """Print the plot latency figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--skus", type=int, default=600)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--tickets", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "dataset"
        data = generate(GeneratorConfig(seed=args.seed, days=args.days, skus=args.skus),
                        progress=False)
        write_dataset(data, folder)
        store = Store.open(f"sqlite:///{tmp}/tally.db")
        store.upgrade()
        store.ingest(folder, progress=False)
        snapshot = store.snapshot()
        batch = score_and_triage(snapshot, get_settings(), progress=False)
        items = snapshot.items.set_index("sku")
        with TestClient(create_app(get_settings(), store=store)) as client:
            with Session(store.engine) as s:
                for t in batch.tickets:
                    cost = items["unit_cost"].get(t.sku) if t.sku else None
                    save_ticket(s, ticket=t, unit_cost=None if cost != cost else cost)
                token = add_user(s, name="bench", role="supervisor").token
            client.post("/ui/login", data={"api_key": token})
            ids = [t.ticket_id for t in batch.tickets[:args.tickets]]
            print(f"{len(snapshot.transactions):,} transactions, {len(batch.tickets)} tickets; "
                  f"timing {len(ids)} ticket plots")

            def get(ticket_id: str) -> float:
                start = time.perf_counter()
                answer = client.get(f"/ui/tickets/{ticket_id}/plot.svg")
                took = time.perf_counter() - start
                assert answer.status_code == 200 and answer.content.startswith(b"<?xml")
                return took
            first = get(ids[0])
            cold = [get(i) for i in ids[1:]]
            warm = [get(i) for _ in range(args.repeats) for i in ids]
        store.close()
    print(f"first plot of all (replays the store's ledger once): {first * 1000:.1f} ms")
    print(f"each ticket's first plot (window, draw, cache):  {_ms(cold)}")
    print(f"repeat plots (cached per ticket):                 {_ms(warm)}")


if __name__ == "__main__":
    main()
