"""What an eval run shows: a rich table on the terminal, report.md and two PNG plots."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from rich.table import Table

from evals.by_profile import gate_figures
from evals.by_profile import markdown as by_profile_markdown
from evals.metrics import CLASSES, MISSED
from evals.runner import EvalRun, judge_runs

HEADLINE = ("recall", "false_alarm_share", "macro_f1", "action_accuracy", "grounding",
            "false_confidence", "safety", "tickets_per_case", "risk_saturated", "risk_auc")
COST = ("run_seconds_per_ticket", "triage_p95_s", "llm_calls_per_ticket", "tokens_per_ticket",
        "fallback_share", "replay_misses", "crashes")


def figures(run: EvalRun) -> dict[str, float]:
    """Every gated figure of a run by name.

    Quality on the gated datasets (held-out profiles and hand-written cases,
    :func:`evals.by_profile.gate_figures`), cost on all of them.
    """
    return gate_figures(run)


def _limit(limits: dict[str, float], name: str) -> str:
    if f"{name}_min" in limits:
        return f">= {limits[f'{name}_min']:g}"
    if f"{name}_max" in limits:
        return f"<= {limits[f'{name}_max']:g}"
    return ""


def headline_table(tally: EvalRun, baseline: EvalRun | None, limits: dict[str, float],
                   broken: list[str]) -> Table:
    """The terminal summary: Tally against the baseline and the limits."""
    verdict = "[bold green]PASS[/]" if not broken else "[bold red]FAIL[/]"
    table = Table(title=f"tally eval: suite {tally.suite}, mode {tally.mode} - {verdict}")
    for col in ("figure", "tally", "baseline", "limit"):
        table.add_column(col, justify="left" if col == "figure" else "right")
    base = figures(baseline) if baseline else {}
    for name, value in figures(tally).items():
        if name in HEADLINE or _limit(limits, name):
            table.add_row(name, f"{value:.3f}", f"{base[name]:.3f}" if name in base else "",
                          _limit(limits, name))
    return table


def plot_confusion(run: EvalRun, path: Path) -> Path:
    """The confusion matrix (true cause by verdict, with MISSED) as a PNG heat map."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    cols = [c.value for c in CLASSES] + [MISSED]
    m = np.array([[run.scores.confusion[c][k] for k in cols] for c in CLASSES])
    fig, ax = plt.subplots(figsize=(8, 6.5))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(cols)), [c.replace("_", "\n") for c in cols], fontsize=7)
    ax.set_yticks(range(len(CLASSES)), [c.value for c in CLASSES], fontsize=7)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if m[i, j] > m.max() / 2 else "black")
    ax.set_xlabel("verdict")
    ax.set_ylabel("true root cause")
    ax.set_title(f"Confusion: suite {run.suite}, mode {run.mode}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_f1(tally: EvalRun, baseline: EvalRun | None, path: Path) -> Path:
    """Per-class F1 of Tally beside the baseline, as a PNG bar chart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.arange(len(CLASSES))
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.bar(x - 0.2, [tally.scores.classes[c].f1 for c in CLASSES], 0.4, label="tally")
    if baseline:
        ax.bar(x + 0.2, [baseline.scores.classes[c].f1 for c in CLASSES], 0.4, label="baseline")
    ax.set_xticks(x, [c.value.replace("_", "\n") for c in CLASSES], fontsize=7)
    ax.set_ylim(0, 1)
    ax.set_ylabel("F1")
    ax.legend()
    ax.set_title(f"Per-class F1: suite {tally.suite}, mode {tally.mode}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _table(header: list[str], rows: Sequence[Sequence[object]]) -> list[str]:
    return [_row(header), _row(["---"] * len(header)), *(_row(r) for r in rows)]


def render_markdown(tally: EvalRun, baseline: EvalRun | None, limits: dict[str, float],
                    broken: list[str]) -> str:
    """report.md: verdict, headline, per class, confusion, cost, cases by kind, failures."""
    s, det = tally.scores, tally.scores.detection
    base = figures(baseline) if baseline else {}
    lines = [f"# Tally eval: suite `{tally.suite}`, mode `{tally.mode}`", "",
             f"**{'PASS' if not broken else 'FAIL'}**" + ("" if not broken else ": "
                                                          + "; ".join(broken)), ""]
    lines += ["## Headline", ""]
    lines += _table(["figure", "tally", "baseline", "limit"], [
        [k, f"{v:.3f}", f"{base[k]:.3f}" if k in base else "", _limit(limits, k)]
        for k, v in figures(tally).items()])
    lines += ["", f"Detection: {det.detected} of {det.actionable_cases} actionable cases covered "
              f"by an actionable ticket ({det.covered} by any ticket); {det.false_alarms} of "
              f"{det.actionable_tickets} actionable tickets cover no actionable case. "
              f"{s.tickets} tickets in all.", ""]
    lines += ["The headline judges the gated datasets: held-out profiles and hand-written "
              "cases (the trained profiles are in the table by profile).", ""]
    lines += by_profile_markdown(tally)
    lines += _by_source(tally, baseline)
    lines += ["## Per class", ""]
    lines += _table(["root cause", "precision", "recall", "F1", "support", "verdicts",
                     "baseline F1"], [
        [c.value, f"{s.classes[c].precision:.3f}", f"{s.classes[c].recall:.3f}",
         f"{s.classes[c].f1:.3f}", s.classes[c].support, s.classes[c].predicted,
         f"{baseline.scores.classes[c].f1:.3f}" if baseline else ""] for c in CLASSES])
    lines += ["", f"Macro-F1 {s.macro_f1:.3f}.", "", "## Confusion matrix", "",
              "Rows: true root cause; columns: verdict (MISSED: no ticket). ![confusion]"
              "(confusion.png) ![per-class F1](per_class_f1.png)", ""]
    cols = [c.value for c in CLASSES] + [MISSED]
    lines += _table(["true \\ verdict", *cols],
                    [[c.value, *(s.confusion[c][k] for k in cols)] for c in CLASSES])
    lines += ["", "## Cases by kind", ""]
    lines += _table(["kind", "cases", "passed"], _by_kind(tally))
    lines += ["", "A case passes when its verdict, action, confidence range and required "
              "mentions all hold.", ""]
    lines += _listing("Case failures", s.case_failures)
    lines += ["## Safety", "", "Checks run: " + (", ".join(
        f"{name} {n}" for name, n in sorted(s.safety_checks.items())) or "none") + ".", ""]
    lines += _listing("Safety failures", s.safety_failures)
    lines += _listing("Crashes", [f"{r.dataset.name}: {r.error}" for r in tally.runs if r.error])
    lines += ["## Datasets", ""]
    lines += _table(["dataset", "kind", "rows", "cases", "tickets", "seconds", "about"], [
        [r.dataset.name, r.dataset.kind, len(r.dataset.data.transactions),
         len(r.dataset.expectations), len(r.tickets), f"{r.seconds:.2f}",
         r.dataset.description] for r in tally.runs])
    return "\n".join(lines) + "\n"


def _by_source(tally: EvalRun, baseline: EvalRun | None) -> list[str]:
    """Headline figures of the generated (held-out) and the hand-written datasets apart."""
    groups = {"generated": lambda kind: kind == "generated",
              "hand-written": lambda kind: kind != "generated"}
    rows = []
    for label, keep in groups.items():
        for run in (tally, baseline):
            part = [r for r in run.runs if keep(r.dataset.kind)] if run else []
            if part and len(part) < len(run.runs):  # type: ignore[union-attr]
                sub = judge_runs(run.system, run.mode, run.suite, part)  # type: ignore[union-attr]
                rows.append([f"{label} ({run.system})",  # type: ignore[union-attr]
                             *(f"{v:.3f}" for v in sub.scores.headline().values())])
    if not rows:
        return []
    head = ["datasets", *tally.scores.headline().keys()]
    return ["## By source", "", *_table(head, rows), ""]


def _by_kind(run: EvalRun) -> list[list[object]]:
    failed = {f.split("/", 1)[0] + "/" + f.split("/", 1)[1].split(":", 1)[0]
              for f in run.scores.case_failures}
    total: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for u in run.units:
        if u.expectation is None:
            continue
        kind = next(r.dataset.kind for r in run.runs if r.dataset.name == u.dataset)
        total[kind] += 1
        passed[kind] += f"{u.dataset}/{u.expectation.case_id}" not in failed
    return [[k, total[k], passed[k]] for k in sorted(total)]


def _listing(title: str, items: list[str]) -> list[str]:
    if not items:
        return [f"## {title}", "", "None.", ""]
    return [f"## {title} ({len(items)})", "", *(f"- {i}" for i in items), ""]


def write_report(out: Path, tally: EvalRun, baseline: EvalRun | None,
                 limits: dict[str, float], broken: list[str]) -> Path:
    """Write report.md, confusion.png and per_class_f1.png into ``out``; the report's path."""
    out.mkdir(parents=True, exist_ok=True)
    plot_confusion(tally, out / "confusion.png")
    plot_f1(tally, baseline, out / "per_class_f1.png")
    path = out / "report.md"
    path.write_text(render_markdown(tally, baseline, limits, broken), encoding="utf-8")
    return path
