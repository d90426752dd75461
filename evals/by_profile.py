"""Figures per generator profile, trained and held-out side by side, and the gated subset.

A row per profile (its datasets judged together), then one row per side. The gate judges
the held-out side together with the hand-written and real cases (:func:`gated_run`): every
dataset the offline reasoner and the calibration never saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from rich.table import Table

from evals.datasets import HAND_WRITTEN, HELD_OUT, REAL, SIDES
from evals.metrics import queue_figures, risk_auc, tickets_per_case, top_level
from evals.runner import DatasetRun, EvalRun, judge_runs

COLUMNS = ("side", "datasets", "cases", "recall", "false_alarm_share", "macro_f1",
           "action_accuracy", "tickets_per_case", "risk_iqr", "risk_saturated", "risk_auc",
           "value_share")
SHORT = {"datasets": "sets", "false_alarm_share": "false al.", "macro_f1": "F1",
         "action_accuracy": "action", "tickets_per_case": "tix/case", "risk_iqr": "risk IQR",
         "risk_saturated": ">=0.99", "risk_auc": "risk AUC", "value_share": "value"}


@dataclass(frozen=True)
class Row:
    """One line of the per-profile table."""

    label: str
    side: str
    datasets: int
    cases: int
    figures: dict[str, float]


def part_figures(run: EvalRun, runs: list[DatasetRun]) -> dict[str, float]:
    """Headline, tickets per real case and queue figures of some dataset runs judged together."""
    sub = judge_runs(run.system, run.mode, run.suite, runs)
    per = [tickets_per_case(r.tickets, r.dataset.expectations) for r in runs]
    covering, covered = sum(p[0] for p in per), sum(p[1] for p in per)
    queue = queue_figures(t for r in runs for t in r.tickets)
    return {**sub.scores.headline(),
            "tickets_per_case": covering / covered if covered else 0.0,
            "risk_iqr": queue.risk_iqr, "risk_saturated": queue.saturated_share,
            "risk_auc": risk_auc(sub.units), "value_share": queue.value_share}


def _row(run: EvalRun, label: str, side: str, keep: Callable[[DatasetRun], bool]) -> Row | None:
    runs = [r for r in run.runs if keep(r)]
    if not runs:
        return None
    return Row(label, side, len(runs), sum(len(r.dataset.expectations) for r in runs),
               part_figures(run, runs))


def _of_profile(name: str, r: DatasetRun) -> bool:
    return r.dataset.profile == name


def _of_side(side: str, r: DatasetRun) -> bool:
    return r.dataset.side == side


def _of_kind(kind: str, r: DatasetRun) -> bool:
    return r.dataset.side == HAND_WRITTEN and r.dataset.kind == kind


def _of_real(hidden: bool, r: DatasetRun) -> bool:
    return r.dataset.kind == REAL and r.dataset.name.endswith("-notes-hidden") == hidden


def profile_rows(run: EvalRun) -> list[Row]:
    """Per profile (trained first, then held-out), then per side, then the other kinds."""
    rows: list[Row] = []
    for side in SIDES:
        names = sorted({r.dataset.profile for r in run.runs
                        if r.dataset.side == side and r.dataset.profile})
        for name in names:
            row = _row(run, name, side, partial(_of_profile, name))
            if row:
                rows.append(row)
    for side in SIDES:
        row = _row(run, f"all {side}", side, partial(_of_side, side))
        if row:
            rows.append(row)
    for kind in sorted({r.dataset.kind for r in run.runs
                        if r.dataset.side == HAND_WRITTEN and r.dataset.kind != REAL}):
        row = _row(run, f"{kind} cases", HAND_WRITTEN, partial(_of_kind, kind))
        if row:
            rows.append(row)
    for hidden in (False, True):
        row = _row(run, "real, notes " + ("hidden" if hidden else "visible"), REAL,
                   partial(_of_real, hidden))
        if row:
            rows.append(row)
    gated = _row(run, "gated (held-out + cases)", "gate", lambda r: r.dataset.gated)
    if gated and any(r.dataset.side == HELD_OUT for r in run.runs):
        rows.append(gated)
    return rows


def gated_run(run: EvalRun) -> EvalRun:
    """The run restricted to the datasets the gate judges (all of it if none is trained-side)."""
    runs = [r for r in run.runs if r.dataset.gated]
    if len(runs) == len(run.runs) or not runs:
        return run
    return judge_runs(run.system, run.mode, run.suite, runs)


def gate_figures(run: EvalRun) -> dict[str, float]:
    """The figures the gate reads.

    Quality on the gated datasets, cost on the whole run, and the real export's recall,
    false-alarm share, macro-F1, action accuracy, tickets per case and ticket count (notes
    visible and hidden) where it was judged.
    """
    gated = [r for r in run.runs if r.dataset.gated] or run.runs
    out = {**part_figures(run, gated), **run.cost()}
    for label, hidden in (("real", False), ("real_hidden", True)):
        real = [r for r in run.runs if r.dataset.kind == REAL
                and r.dataset.name.endswith("-notes-hidden") == hidden]
        if real:
            fig = part_figures(run, real)
            for name in ("recall", "false_alarm_share", "macro_f1", "action_accuracy",
                         "tickets_per_case"):
                out[f"{label}_{name}"] = fig[name]
            out[f"{label}_tickets"] = float(sum(len(top_level(r.tickets)) for r in real))
    return out


def _cell(name: str, value: float) -> str:
    return f"{value:.2f}" if name == "tickets_per_case" else f"{value:.3f}"


def rich_table(run: EvalRun) -> Table:
    """The per-profile table for the terminal."""
    table = Table(title=f"by profile: suite {run.suite}, mode {run.mode}")
    table.add_column("profile")
    for col in COLUMNS:
        table.add_column(SHORT.get(col, col), justify="left" if col == "side" else "right")
    for row in profile_rows(run):
        table.add_row(row.label, row.side, str(row.datasets), str(row.cases),
                      *(_cell(c, row.figures[c]) for c in COLUMNS[3:]))
    return table


def markdown(run: EvalRun) -> list[str]:
    """The per-profile table as report.md lines."""
    rows = profile_rows(run)
    if not rows:
        return []
    head = ["profile", *COLUMNS]
    lines = ["## By profile: trained vs held-out", "",
             "Held-out profiles were never used to train the offline reasoner or calibrate "
             "risk; trained profiles are measured at seeds the training never used. "
             "tickets_per_case: queue tickets covering an actionable case, per case covered; "
             "risk_iqr: interquartile range of the queue's risk; risk_saturated: share of "
             "tickets at risk >= 0.99; value_share: share with a value_at_risk above 0.", "",
             "| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for row in rows:
        cells = [row.label, row.side, str(row.datasets), str(row.cases),
                 *(_cell(c, row.figures[c]) for c in COLUMNS[3:])]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]
