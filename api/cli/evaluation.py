"""``tally eval``: run the eval suite, print the table, write the report, gate on thresholds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from evals.gate import THRESHOLDS_PATH
from warehouse.errors import UserError

CASES_DIR = THRESHOLDS_PATH.with_name("cases")  # = evals.suites.CASES_DIR, without its imports


def eval_command(
    suite: Annotated[str, typer.Option(
        help="ci (small, for CI), full, cases (hand-written only) or real (the real export)")
    ] = "ci",
    mode: Annotated[str, typer.Option(help="offline, recorded (replayed LLM) or live")] = "offline",
    out: Annotated[Path, typer.Option("--out", help="folder for report.md and plots")] = Path(
        "eval-report"),
    baseline: Annotated[bool, typer.Option(
        "--baseline/--no-baseline", help="also measure the naive baseline, for the lift")] = True,
    record: Annotated[bool, typer.Option(
        "--record", help="save the model's answers as recordings (live; offline: stand-in)")
    ] = False,
    recordings: Annotated[Path | None, typer.Option(
        help="root of the recordings (replayed by recorded, written by --record); default "
             "evals/recordings, which CI replays: keep a real model's run in its own folder")
    ] = None,
    only: Annotated[str | None, typer.Option(
        help="comma-separated dataset names: judge only these of the suite (a small live run)")
    ] = None,
    cases_dir: Annotated[Path, typer.Option(
        help="folder of hand-written case folders (each with expected.yaml)")] = CASES_DIR,
    thresholds: Annotated[Path, typer.Option(help="the gate's limits")] = THRESHOLDS_PATH,
    real_data: Annotated[Path | None, typer.Option(
        help="the real export's folder (default ../shared/data/real-online-retail-h1 beside "
             "the repository; skipped when missing outside CI)")] = None,
) -> None:
    """Judge Tally on labelled cases; exit 1 on a figure below its threshold or a safety break."""
    from rich.console import Console
    from rich.progress import Progress

    from evals.baseline import training_labels
    from evals.by_profile import rich_table
    from evals.gate import check, load_limits
    from evals.recordings import RECORDINGS_DIR
    from evals.report import figures, headline_table, write_report
    from evals.runner import MODES, run_baseline, run_tally
    from evals.suites import pick
    from evals.suites import suite as suite_datasets

    if mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    limits = load_limits(suite, mode, thresholds)
    console = Console(width=max(Console().width, 130))
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("loading cases", total=None)
        datasets = list(suite_datasets(suite, cases_dir=cases_dir, real_data=real_data))
        if only:
            datasets = pick(datasets, only)
        bar.update(task, total=len(datasets), completed=0, description="tally")

        def step(name: str) -> None:
            bar.update(task, advance=1, description=f"tally {mode}: {name}")

        tally = run_tally(datasets, mode=mode, suite=suite, record=record,
                          recordings=recordings or RECORDINGS_DIR, progress=step)
        base = None
        if baseline:
            bar.update(task, description="baseline")
            base = run_baseline(datasets, suite=suite, labelled=training_labels())
    if not any(d.kind == "real" for d in datasets):
        skipped = sorted(k for k in limits if k.startswith("real_"))
        limits = {k: v for k, v in limits.items() if k not in skipped}
        if skipped:
            console.print(f"[yellow]real export not found: skipped {', '.join(skipped)}[/]")
    broken = check(figures(tally), limits)
    broken += [f"safety: {f}" for f in tally.scores.safety_failures]
    broken += [f"crash: {r.dataset.name}: {r.error}" for r in tally.runs if r.error]
    report = write_report(out, tally, base, limits, broken)
    console.print(rich_table(tally))
    console.print(headline_table(tally, base, limits, broken))
    for line in broken:
        console.print(f"[red]- {line}[/]")
    console.print(f"report: {report}")
    if broken:
        raise typer.Exit(1)
