"""The speed table (issue 13): each Tally figure beside a generic anchor measured in the same run.

For a simulated site (``--days/--skus``; ``--million`` for the ~1M-transaction size) and for a
real export (``--real DIR``, default ``../shared/data/real-online-retail-h1``), prints:

- scorer fit+score, txn/s, against scikit-learn IsolationForest (100 trees) fit+score over the
  same rows (type, SKU, location, user codes, quantity, hour);
- ``tally run`` wall (load, score, index, triage) against IsolationForest read+fit+score
  (``pandas.read_csv`` of the same file included);
- offline triage per ticket, p50 / p99;
- ``score_event`` p50 / p99 in process (fit on the first 80 % of the log, then the next events),
  and the same for ``stream_event`` (events held and settled, :mod:`scoring.settle`);
- store ingest rows/s into a fresh SQLite file and a fresh PostgreSQL database (wall, and
  rows per second of this process's CPU), against ``pyarrow.csv.read_csv`` of the same file;
- peak RSS of ``tally run``.

Each heavy step runs in a child process of its own, so its peak RSS is its alone. Ratios are
Tally's time over the anchor's. Run niced on a shared machine; the load (``uptime``) is
printed beside the figures.

Usage: python -m benchmarks.table [--days 60 --skus 600 | --million] [--real DIR | --no-real]
       [--pg-admin URL | --pg-admin ''] [--events 200] [--tickets-out DIR]
(as a module, so that ``benchmarks/api.py`` does not shadow the ``api`` package)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.ingest import PG_ADMIN, _load, _peak_rss_mb

REPO = Path(__file__).resolve().parents[1]
REAL = next((p for base in (REPO.parent, REPO.parents[1])
             if (p := base / "shared" / "data" / "real-online-retail-h1").is_dir()),
            REPO.parent / "shared" / "data" / "real-online-retail-h1")
"""``../shared/data/real-online-retail-h1`` from the repository (or from a worktree's parent)."""
MILLION = (120, 2500)


def _child(fn: Callable[..., Any], *args: Any) -> Any:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def _transactions_file(folder: Path) -> Path:
    from warehouse.loader import find_table

    path = find_table(folder, "transactions")
    if path is None:
        raise SystemExit(f"{folder}: no transactions file")
    return path


def _codes(column: Any) -> np.ndarray:
    import pandas as pd

    return pd.factorize(column)[0].astype(float)


def iforest(path: str) -> dict[str, float]:
    """A bare generic pass: read the CSV, code its columns, fit and score IsolationForest."""
    import pandas as pd
    from sklearn.ensemble import IsolationForest

    start = time.perf_counter()
    tx = pd.read_csv(path)
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    ts = pd.to_datetime(tx["ts"], utc=True, format="ISO8601")
    x = np.column_stack([
        _codes(tx["type"]), _codes(tx["sku"]), _codes(tx["location"]), _codes(tx["user_id"]),
        pd.to_numeric(tx["qty"], errors="coerce").fillna(0).to_numpy(dtype=float),
        (ts.dt.hour + ts.dt.minute / 60).to_numpy(dtype=float),
    ])
    model = IsolationForest(n_estimators=100, random_state=0).fit(x)
    model.score_samples(x)
    return {"rows": len(tx), "read_s": read_s, "fit_score_s": time.perf_counter() - start}


def arrow_read(path: str) -> dict[str, float]:
    """``pyarrow.csv.read_csv`` of the file (decompressed as its name says)."""
    from pyarrow import csv

    start = time.perf_counter()
    rows = csv.read_csv(path).num_rows
    return {"rows": rows, "s": time.perf_counter() - start}


def scorer_pass(folder: str) -> dict[str, float]:
    """The scorer alone over the loaded dataset: fit + score_batch."""
    from scoring import Scorer
    from warehouse.loader import load_dataset

    data = load_dataset(folder, progress=False).dataset
    start = time.perf_counter()
    result = Scorer().fit(data).score_batch(data)
    return {"rows": len(data.transactions), "s": time.perf_counter() - start,
            "flags": len(result.flags), "incidents": len(result.incidents)}


def tally_run(folder: str, out: str) -> dict[str, Any]:
    """``tally run`` (fresh store, score, triage, write) with its stage timings and RSS."""
    from agents.batch import run_dataset
    from warehouse.settings import Settings

    start, cpu = time.perf_counter(), time.process_time()
    batch = run_dataset(Path(folder), Path(out), Settings())
    return {"wall_s": time.perf_counter() - start, "cpu_s": time.process_time() - cpu,
            "timings": batch.timings,
            "tickets": len(batch.tickets), "ticket_seconds": batch.ticket_seconds,
            "ticket_cpu_seconds": batch.ticket_cpu_seconds,
            "rss_mb": _peak_rss_mb()}


def online(folder: str, events: int, settled: bool = False) -> list[float]:
    """score_event (``settled``: stream_event) seconds per event after a fit on the first
    80 % of the log."""
    from benchmarks.scorer import online_latency
    from warehouse.loader import load_dataset

    data = load_dataset(folder, progress=False).dataset
    return online_latency(data, events, settled=settled).tolist()


@dataclass
class Table:
    """Rows of one dataset's table: figure, Tally, anchor, ratio, target."""

    name: str
    rows: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    def add(self, figure: str, tally: str, anchor: str = "-", ratio: str = "-",
            target: str = "-") -> None:
        self.rows.append((figure, tally, anchor, ratio, target))
        print(f"  {figure:<34} {tally:>26} {anchor:>30} {ratio:>8}  {target}", flush=True)


def _pct(seconds: list[float], q: float) -> float:
    return float(np.percentile(np.array(seconds) * 1000, q)) if seconds else float("nan")


def _pg_url(admin: str, name: str) -> str:
    return f"postgresql+psycopg://{admin.split('://', 1)[1].rsplit('/', 1)[0]}/{name}"


def bench(name: str, folder: Path, args: argparse.Namespace) -> Table:
    """Every figure of the table over one dataset folder."""
    path = str(_transactions_file(folder))
    table = Table(name)
    print(f"\n## {name}: {folder} (load {os.getloadavg()[0]:.1f})", flush=True)
    print(f"  {'figure':<34} {'tally':>26} {'anchor':>30} {'ratio':>8}  target")
    anchor = _child(iforest, path)
    arrow = _child(arrow_read, path)
    n = anchor["rows"]
    if_all = anchor["read_s"] + anchor["fit_score_s"]

    scored = _child(scorer_pass, str(folder))
    rate, if_rate = scored["rows"] / scored["s"], n / anchor["fit_score_s"]
    table.add("scorer fit+score, txn/s", f"{rate:,.0f}", f"IsolationForest {if_rate:,.0f}",
              f"{rate / if_rate:.2f}x", ">= 3x IsolationForest")

    with tempfile.TemporaryDirectory(prefix="tally-bench-") as tmp:
        out = Path(args.tickets_out or tmp) / name.replace(" ", "-")
        run = _child(tally_run, str(folder), str(out))
    t = run["timings"]
    stages = ", ".join(f"{k[:-2]} {v:.1f}" for k, v in t.items() if k != "total_s")
    table.add("tally run, wall s", f"{run['wall_s']:.1f} (cpu {run['cpu_s']:.1f}; {stages})",
              f"IF read+fit+score {if_all:.1f}", f"{run['wall_s'] / if_all:.1f}x",
              "<= 2x (simulated), <= 5x (real)")
    secs, cpu = run["ticket_seconds"], run["ticket_cpu_seconds"]
    table.add("offline triage per ticket, ms", f"p50 {_pct(secs, 50):.1f} p99 {_pct(secs, 99):.1f}",
              f"{len(secs):,} tickets", "-", "p99 <= 10 ms")
    table.add("  the same in CPU ms", f"p50 {_pct(cpu, 50):.1f} p99 {_pct(cpu, 99):.1f}")
    table.add("peak RSS of tally run, MB", f"{run['rss_mb']:,.0f}", f"{n:,} txns", "-",
              "<= 1 GB at 1M txns")

    if args.events:
        lat = _child(online, str(folder), args.events)
        table.add("score_event in process, ms", f"p50 {_pct(lat, 50):.1f} p99 {_pct(lat, 99):.1f}",
                  f"{len(lat):,} events", "-", "p99 <= 5 ms")
        lat = _child(online, str(folder), args.events, True)
        table.add("  stream_event (settled), ms",
                  f"p50 {_pct(lat, 50):.1f} p99 {_pct(lat, 99):.1f}", f"{len(lat):,} events")

    arrow_rate = arrow["rows"] / arrow["s"]
    with tempfile.TemporaryDirectory(prefix="tally-bench-") as tmp:
        s, loaded, _, cpu = _child(_load, "store", str(folder), f"sqlite:///{tmp}/bench.db")
    table.add("store ingest SQLite, rows/s", f"{loaded / s:,.0f} (CPU {loaded / cpu:,.0f})",
              f"pyarrow read_csv {arrow_rate:,.0f}", f"{arrow_rate / (loaded / s):.0f}x",
              ">= 150k rows/s")
    if args.pg_admin:
        import psycopg

        db = f"tally_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.pg_admin, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{db}"')
        try:
            s, loaded, _, cpu = _child(_load, "store", str(folder), _pg_url(args.pg_admin, db))
        finally:
            with psycopg.connect(args.pg_admin, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        table.add("store ingest PostgreSQL, rows/s", f"{loaded / s:,.0f} (client CPU "
                  f"{loaded / cpu:,.0f})",
                  f"pyarrow read_csv {arrow_rate:,.0f}", f"{arrow_rate / (loaded / s):.0f}x",
                  ">= 100k rows/s")
    return table


def simulate(folder: Path, days: int, skus: int, seed: int) -> int:
    """Generate a labelled site and write it in the contract format; its row count."""
    from sim.generator import GeneratorConfig, generate
    from warehouse.writer import write_dataset

    data = generate(GeneratorConfig(seed=seed, days=days, skus=skus), progress=False)
    write_dataset(data, folder)
    return len(data.transactions)


def main() -> None:
    """Print the table for the simulated site and the real export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--skus", type=int, default=600)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--million", action="store_true",
                        help=f"the ~1M-transaction site ({MILLION[0]} days, {MILLION[1]} SKUs)")
    parser.add_argument("--real", type=Path, default=REAL, help="a real export folder")
    parser.add_argument("--no-real", action="store_true")
    parser.add_argument("--no-sim", action="store_true")
    parser.add_argument("--pg-admin", default=PG_ADMIN, help="admin URL; '' skips PostgreSQL")
    parser.add_argument("--events", type=int, default=200, help="score_event calls; 0 skips")
    parser.add_argument("--tickets-out", type=Path, default=None,
                        help="keep each run's tickets.jsonl and report.md under this folder")
    args = parser.parse_args()
    days, skus = MILLION if args.million else (args.days, args.skus)
    print(f"uptime: {os.popen('uptime').read().strip()}; cpus {os.cpu_count()}")
    tables = []
    with tempfile.TemporaryDirectory(prefix="tally-bench-") as tmp:
        if not args.no_sim:
            folder = Path(tmp) / "site"
            start = time.perf_counter()
            rows = simulate(folder, days, skus, args.seed)
            print(f"simulated {rows:,} txns ({days} days, {skus} SKUs, seed {args.seed}) in "
                  f"{time.perf_counter() - start:.0f} s")
            tables.append(bench(f"simulated {rows // 1000}k", folder, args))
    if not args.no_real:
        if args.real.is_dir():
            tables.append(bench("real", args.real, args))
        else:
            print(f"\nreal export {args.real} not found: skipped")
    print(f"\nuptime: {os.popen('uptime').read().strip()}")
    if args.tickets_out:
        (args.tickets_out / "table.json").write_text(json.dumps(
            {t.name: t.rows for t in tables}, indent=1))


if __name__ == "__main__":
    main()
