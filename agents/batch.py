"""One batch run: score a dataset, triage every incident, write tickets.jsonl and report.md.

Shared by ``tally run``, ``tally triage`` and ``tally demo`` (CONTRACT.md section 5). No
write-back happens here: tickets wait for approval through the service.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agents.case import Reasoner
from agents.features import FeatureContext
from agents.folding import fold_tickets, split_systemic
from agents.learned import LearningOutcome, apply_learning
from agents.pipeline import triage
from agents.reasoners.toolbox import make_toolbox
from agents.systemic import systemic_tickets
from tools.user_activity import site_activity
from tools.view import WarehouseView
from warehouse.contract import Resolution, RootCause, Severity, Ticket, TicketKind
from warehouse.dataset import Dataset
from warehouse.errors import UserError
from warehouse.loader.resolutions import ResolutionLoad, find_resolutions, load_resolutions
from warehouse.settings import Settings

TOP_TICKETS = 10


@dataclass
class BatchResult:
    """Tickets of one run with where they went and what each stage took."""

    tickets: list[Ticket]
    timings: dict[str, float] = field(default_factory=dict)
    ticket_seconds: list[float] = field(default_factory=list)
    ticket_cpu_seconds: list[float] = field(default_factory=list)
    """CPU seconds of each ticket (less sensitive than wall time to a busy machine; the
    first also compiles the graph)."""
    reasoner: str = "offline"
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    learning: LearningOutcome | None = None

    def top(self, n: int = TOP_TICKETS) -> list[Ticket]:
        """The tickets a supervisor should see first (severity, money at risk, risk).

        Occurrences of a systemic ticket stand behind their parent, not in the top.
        """
        return sorted((t for t in self.tickets if t.parent_ticket_id is None),
                      key=Ticket.queue_key)[:n]

    @property
    def systemic(self) -> list[Ticket]:
        """Systemic tickets, in queue order."""
        return sorted((t for t in self.tickets if t.kind is TicketKind.SYSTEMIC),
                      key=Ticket.queue_key)


@dataclass
class TriageKit:
    """What triage needs over one warehouse snapshot: the view, its features, a reasoner."""

    view: WarehouseView
    features: FeatureContext
    reasoner: Reasoner

    @classmethod
    def build(cls, data: Dataset, settings: Settings) -> TriageKit:
        """Index ``data`` and bind the configured reasoner's read-only tools to it."""
        from agents.reasoners import build_reasoner

        view = WarehouseView(data).warm()
        site_activity(view)  # a pass over the whole log: once here, not in a ticket
        features = FeatureContext.of(view)
        return cls(view, features, build_reasoner(settings, tools=make_toolbox(view)))


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), transient=True, disable=not enabled)


def score_and_triage(data: Dataset, settings: Settings, *, progress: bool = True,
                     timings: dict[str, float] | None = None,
                     resolutions: Sequence[Resolution] = (),
                     undone: Sequence[str] = ()) -> BatchResult:
    """Fit the scorer on the data, score it, triage every incident with the configured reasoner.

    Args:
        data: the loaded dataset.
        settings: decides the reasoner (offline unless an LLM is configured).
        progress: show rich progress bars.
        timings: stage timings so far (load), extended here.
        resolutions: the site's verdicts: learned from before the tickets are written
            (:mod:`scoring.learning`, :mod:`agents.learned`).
        undone: ids of learned rules an admin undid.
    """
    from scoring import Scorer
    from scoring.learning import Learner

    timings = dict(timings or {})
    start = time.perf_counter()
    scorer = Scorer().fit(data)
    result = scorer.score_batch(data)
    rest, patterns = split_systemic(result.flags)
    incidents = scorer.incidents(rest) if patterns else result.incidents
    timings["score_s"] = time.perf_counter() - start

    start = time.perf_counter()
    kit = TriageKit.build(data, settings)
    view, features, reasoner = kit.view, kit.features, kit.reasoner
    timings["index_s"] = time.perf_counter() - start

    seconds: list[float] = []
    cpu = [time.process_time()]
    start = time.perf_counter()
    with _progress(progress) as bar:
        task = bar.add_task("triage", total=len(incidents))

        def tick(_: Ticket, s: float) -> None:
            seconds.append(s)
            cpu.append(time.process_time())
            bar.advance(task)

        tickets = triage(incidents, view, reasoner, features=features, on_ticket=tick)
    tickets += systemic_tickets(patterns, view)
    timings["triage_s"] = time.perf_counter() - start
    outcome = None
    if resolutions:
        start = time.perf_counter()
        learner = Learner().fit(resolutions, result.flags, data, undone=undone)
        tickets, outcome = apply_learning(tickets, incidents, learner, resolutions)
        timings["learn_s"] = time.perf_counter() - start
    tickets = fold_tickets(tickets, view)
    return BatchResult(tickets=tickets, timings=timings, ticket_seconds=seconds,
                       ticket_cpu_seconds=np.diff(cpu).tolist(), reasoner=reasoner.name,
                       skipped=dict(result.skipped), learning=outcome)


def run_dataset(dataset_dir: Path, out: Path, settings: Settings) -> BatchResult:
    """``tally run``: load a dataset folder into a fresh embedded store, score, triage, write.

    The store is a new SQLite file, ``out/store.db`` (replaced if it exists), so the run can
    be inspected afterwards (``TALLY_DATABASE_URL=sqlite:///out/store.db tally status``);
    the configured database is never touched and nothing is written back.

    Raises:
        UserError: the folder or the output path is unusable, or no transaction is valid.
    """
    from warehouse.store import Store

    if not dataset_dir.is_dir():
        raise UserError(f"{dataset_dir} is not a folder")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a folder")
    start = time.perf_counter()
    db = out / "store.db"
    db.unlink(missing_ok=True)
    store = Store.open(f"sqlite:///{db.resolve()}")
    try:
        store.upgrade()
        report = store.ingest(dataset_dir, rejects_path=out / "rejects.csv", progress=True)
        data = store.snapshot()
    finally:
        store.close()
    if data.transactions.empty:
        raise UserError(f"{dataset_dir}: no valid transactions to score")
    resolutions = _resolutions(dataset_dir, out)
    batch = score_and_triage(data, settings, timings={"load_s": time.perf_counter() - start},
                             resolutions=resolutions.resolutions)
    batch.notes.append(f"loaded {report.rows_loaded:,} rows of {report.rows_read:,} into "
                       f"{db.name}; {report.rejected:,} rejected, "
                       f"{report.redelivered:,} re-delivered")
    if resolutions.report.rows_read:
        batch.notes.append(f"resolutions.csv: {len(resolutions.resolutions):,} verdicts "
                           f"learned from, {resolutions.report.rejected:,} rows rejected")
    batch.timings["total_s"] = sum(batch.timings.values())
    write_outputs(batch, out)
    return batch


def _resolutions(dataset_dir: Path, out: Path) -> ResolutionLoad:
    """The dataset's ``resolutions.csv``, if it has one (bad rows to resolution_rejects.csv)."""
    path = find_resolutions(dataset_dir)
    if path is None:
        return ResolutionLoad()
    return load_resolutions(path, rejects_path=out / "resolution_rejects.csv")


def write_outputs(batch: BatchResult, out_dir: Path) -> tuple[Path, Path]:
    """Write ``tickets.jsonl`` and ``report.md`` into ``out_dir``; returns both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tickets_path, report_path = out_dir / "tickets.jsonl", out_dir / "report.md"
    write_ticket_lines(batch.tickets, tickets_path)
    report_path.write_text(render_report(batch), encoding="utf-8")
    return tickets_path, report_path


def write_ticket_lines(tickets: Iterable[Ticket], path: Path) -> int:
    """Write ``tickets`` to ``path`` as ``tickets.jsonl`` lines (contract section 5); how many."""
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for t in tickets:
            fh.write(json.dumps(t.model_dump(mode="json"), ensure_ascii=False) + "\n")
            n += 1
    return n


def render_report(batch: BatchResult) -> str:
    """report.md: counts by root cause and severity, the top tickets, timings."""
    from prompts import render

    top_level = [t for t in batch.tickets if t.parent_ticket_id is None]
    by = Counter((t.root_cause, t.severity) for t in top_level)
    causes = [(c.value, [by[(c, s)] for s in Severity], sum(by[(c, s)] for s in Severity))
              for c in RootCause]
    secs = np.array(batch.ticket_seconds) * 1000 if batch.ticket_seconds else np.zeros(1)
    return render(
        "report", batch=batch, causes=causes, severities=[s.value for s in Severity],
        totals=[sum(by[(c, s)] for c in RootCause) for s in Severity],
        top_level=len(top_level), value=sum(t.value_at_risk for t in top_level),
        spread=risk_spread(top_level),
        top=batch.top(), p50=float(np.percentile(secs, 50)), p99=float(np.percentile(secs, 99)),
        actions=Counter(t.action.type.value for t in top_level).most_common(),
        learning=batch.learning,
    )


def risk_spread(tickets: list[Ticket]) -> dict[str, float]:
    """How risk spreads over tickets: min, quartiles, max, and the share at 0.99 or more."""
    if not tickets:
        return {}
    risk = np.array([t.risk_score for t in tickets])
    q = np.quantile(risk, [0.0, 0.25, 0.5, 0.75, 1.0])
    return {"min": q[0], "q1": q[1], "median": q[2], "q3": q[3], "max": q[4],
            "saturated": float(np.mean(risk >= 0.99)), "distinct": float(len(np.unique(risk)))}
