"""Ingest throughput: ~1M generated transactions into SQLite and PostgreSQL.

Generates a dataset (timed separately), writes it as CSV, then loads it in a fresh child
process per target, so each peak RSS is that load's alone: the in-memory loader, the store
on a new SQLite file, and the store on a PostgreSQL database this script creates and drops.

``--folder DIR`` loads an existing export (e.g. ``../shared/data/real-online-retail-h1``)
instead of generating one. ``pyarrow.csv.read_csv`` of the same transactions file is the
anchor. The CPU column is the loading process's (every thread; not a PostgreSQL server's).

Usage: python benchmarks/ingest.py [--days 120 --skus 2500 --seed 0 | --folder DIR]
       [--pg-admin URL]
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
import uuid
from pathlib import Path

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM (ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load(target: str, folder: str, url: str | None) -> tuple[float, int, float, float]:
    """In a child process: (seconds, transaction rows loaded, peak RSS MB, CPU seconds).

    The CPU seconds are this process's, every thread's (a PostgreSQL server's are not).
    """
    start, cpu = time.perf_counter(), time.process_time()
    if target == "loader":
        from warehouse.loader import load_dataset

        rows = len(load_dataset(folder).dataset.transactions)
    else:
        from warehouse.store import Store

        store = Store.open(url)
        store.upgrade()
        start, cpu = time.perf_counter(), time.process_time()
        rows = store.ingest(folder).tables["transactions"]
        store.close()
    return (time.perf_counter() - start, rows, _peak_rss_mb(), time.process_time() - cpu)


def _in_child(target: str, folder: str, url: str | None) -> tuple[float, int, float, float]:
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_load, (target, folder, url))


def _arrow_read(path: str) -> tuple[int, float]:
    from pyarrow import csv

    start = time.perf_counter()
    return csv.read_csv(path).num_rows, time.perf_counter() - start


def _generated(folder: Path, args: argparse.Namespace) -> Path:
    """A generated site written as CSV into ``folder``."""
    from sim.generator import GeneratorConfig, generate
    from warehouse.writer import write_dataset

    start = time.perf_counter()
    dataset = generate(GeneratorConfig(seed=args.seed, days=args.days, skus=args.skus))
    generated = time.perf_counter() - start
    rows = len(dataset.transactions)
    start = time.perf_counter()
    write_dataset(dataset, folder)
    written = time.perf_counter() - start
    size = (folder / "transactions.csv").stat().st_size / 2**20
    print(f"generated {rows:,} transactions in {generated:.1f} s "
          f"({rows / generated:,.0f} rows/s); CSV written in {written:.1f} s, {size:.0f} MiB")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--skus", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pg-admin", default=PG_ADMIN, help="admin URL; '' skips PostgreSQL")
    parser.add_argument("--folder", type=Path, default=None,
                        help="load this export instead of generating one")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.folder or _generated(Path(tmp) / "dataset", args)
        from warehouse.loader import find_table

        path = find_table(folder, "transactions")
        anchor_rows, anchor_s = _arrow_read(str(path))
        print(f"anchor: pyarrow.csv.read_csv of {path.name}: {anchor_rows:,} rows in "
              f"{anchor_s:.2f} s ({anchor_rows / anchor_s:,.0f} rows/s)")
        print(f"{'target':<22} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12} "
              f"{'CPU s':>7}")
        targets: list[tuple[str, str, str | None]] = [
            ("load_dataset (memory)", "loader", None),
            ("store: SQLite", "store", f"sqlite:///{Path(tmp) / 'bench.db'}"),
        ]
        pg_name = f"tally_bench_{uuid.uuid4().hex[:8]}"
        admin = None
        if args.pg_admin:
            import psycopg

            admin = psycopg.connect(args.pg_admin, autocommit=True)
            admin.execute(f'CREATE DATABASE "{pg_name}"')
            base = args.pg_admin.rsplit("/", 1)[0].split("://", 1)[1]
            targets.append(("store: PostgreSQL", "store", f"postgresql+psycopg://{base}/{pg_name}"))
        try:
            for label, target, url in targets:
                seconds, loaded, peak, cpu = _in_child(target, str(folder), url)
                print(f"{label:<22} {loaded:>10,} {seconds:>8.1f} {loaded / seconds:>10,.0f} "
                      f"{peak:>12,.0f} {cpu:>7.1f}")
        finally:
            if admin is not None:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
                admin.close()


if __name__ == "__main__":
    main()
