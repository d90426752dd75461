"""``tally generate``: write a simulated, labelled warehouse dataset to a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.generator.profiles import HELD_OUT_PROFILES, PROFILES
from warehouse.errors import UserError

PROFILE_HELP = "site conventions: " + "; ".join(
    f"{p.name}{' (held out)' if p.name in HELD_OUT_PROFILES else ''}: {p.about}"
    for p in PROFILES.values())


def generate_command(
    out: Annotated[Path, typer.Option("--out", help="folder to write the dataset into")],
    seed: Annotated[int, typer.Option(help="random seed; same seed, same dataset")] = 0,
    days: Annotated[int, typer.Option(help="simulated days")] = 30,
    skus: Annotated[int, typer.Option(help="items in the catalogue")] = 300,
    anomalies: Annotated[int, typer.Option(help="labelled cases, split over 7 causes")] = 56,
    noise: Annotated[float, typer.Option(help="benign-noise multiplier (0 = clean log)")] = 1.0,
    gzip: Annotated[bool, typer.Option("--gzip", help="write transactions.csv.gz")] = False,
    profile: Annotated[str, typer.Option(help=PROFILE_HELP)] = "reference",
) -> None:
    """Simulate a site and write items, locations, transactions and labels."""
    from pydantic import ValidationError
    from rich.console import Console
    from rich.table import Table

    from sim.generator import GeneratorConfig, generate
    from warehouse.writer import write_dataset

    try:
        config = GeneratorConfig(seed=seed, days=days, skus=skus, anomalies=anomalies,
                                 noise=noise, profile=profile)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = f"--{err['loc'][0]}: " if err["loc"] else "--profile: "
        raise UserError(f"{where}{err['msg']}") from None
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    dataset = generate(config, progress=True)
    paths = write_dataset(dataset, out, gzip=gzip)

    console = Console()
    table = Table(title=f"dataset written to {out}")
    table.add_column("file")
    table.add_column("rows", justify="right")
    for name, rows in paths.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)
    cases = Table(title="labelled cases")
    cases.add_column("root cause")
    cases.add_column("cases", justify="right")
    cases.add_column("variants")
    assert dataset.labels is not None
    for rc, group in dataset.labels.groupby("root_cause", sort=True):
        cases.add_row(str(rc), str(len(group)), ", ".join(sorted(set(group["variant"]))))
    console.print(cases)

