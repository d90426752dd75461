"""A site to stream and what a batch run of the same log makes of it (the stream tests' rig).

A generated site is split into a stored history and the events that follow it, a run of
``STREAM`` events chosen to hold the most labelled problems, so a short stream still meets
several. The reference is one process scoring the streamed events in log order with the scorer
fitted on the stored history (``tally serve`` alone), grouped into incidents; the batch run
of the same log (the events scored as the history's continuation) is kept beside it, since
the scorer's online path and its batch path differ on a few events of their own. A streamed
run is compared with the reference on what the store holds afterwards.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import text

from api.stream.publish import frame_events
from scoring import Scorer
from sim.generator import GeneratorConfig, generate
from warehouse.dataset import Dataset
from warehouse.writer import write_dataset


@dataclass
class Site:
    """A site's stored history, the events to stream, and the batch run's verdict on them."""

    history_dir: Path
    events: list[dict[str, Any]]
    flagged: set[str]
    """txn_ids one process scoring the events in log order flags."""
    ticketed: set[str]
    """txn_ids of the incidents those flags make."""
    batch_flagged: set[str] = field(default_factory=set)
    """txn_ids batch scoring of the same log flags (the scorer's online/batch gap aside)."""


def make_site(folder: Path, *, seed: int = 3, days: int = 7, skus: int = 150,
              stream: int = 120) -> tuple[Dataset, Site]:
    """A generated site split into history (written to ``folder``) and ``stream`` events."""
    data = generate(GeneratorConfig(seed=seed, days=days, skus=skus))
    tx = data.transactions.reset_index(drop=True)
    position = {t: i for i, t in enumerate(tx["txn_id"])}
    problems = data.labels[data.labels["root_cause"] != "LEGITIMATE"]
    cases = [[position[t] for t in ids.split()] for ids in problems["txn_ids"]]
    first = max((min(c) for c in cases), key=lambda s: sum(
        min(c) >= s and max(c) < s + stream for c in cases))
    start = max(first - 10, len(tx) // 2)
    history = Dataset(data.items, data.locations, tx.iloc[:start], data.labels.iloc[:0], {})
    write_dataset(history, folder)
    streamed = tx.iloc[start:start + stream].reset_index(drop=True)
    return history, Site(history_dir=folder, events=list(frame_events(streamed)),
                         flagged=set(), ticketed=set())


def judge(site: Site, fitted: Scorer, data: Dataset) -> Site:
    """Fill in what one process makes of the streamed events, and the batch run's flags.

    The reference is the fitted scorer scoring the events one by one in log order (what
    ``tally serve`` alone does), grouped by the scorer's incident rules; ``batch_flagged``
    is batch scoring of the same events as the history's continuation, for the report.
    """
    one = copy.deepcopy(fitted)
    flags = [f for event in site.events for f in one.score_event(event)]
    site.flagged = {f.txn_id for f in flags}
    site.ticketed = {t for i in one.incidents(flags) for t in i.txn_ids}
    frame = pd.DataFrame(site.events)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    result = fitted.score_batch(Dataset(data.items, data.locations, frame, None, {}))
    site.batch_flagged = {f.txn_id for f in result.flags}
    return site


@dataclass
class Streamed:
    """What the store holds after a stream: stored, scored, flagged and ticketed txn_ids."""

    stored: list[str]
    scored: list[str]
    flagged: set[str]
    tickets: dict[str, list[str]]
    pending: int
    failed: list[str]
    """The last error of each work item given up on (FAILED)."""

    @property
    def ticketed(self) -> list[str]:
        """Every ticket's txn_ids, in one list (a txn_id twice: two tickets hold it)."""
        return [t for ids in self.tickets.values() for t in ids]


def streamed(engine: Any, txn_ids: set[str], site: str = "default") -> Streamed:
    """Read back what the workers made of the events ``txn_ids`` of ``site``."""
    at = {"site": site}
    with engine.connect() as conn:
        stored = [r[0] for r in conn.execute(
            text("SELECT txn_id FROM transactions WHERE site = :site"), at) if r[0] in txn_ids]
        scored = [r[0] for r in conn.execute(
            text("SELECT txn_id FROM scored_event WHERE site = :site"), at)]
        flagged = {json.loads(r[0])["txn_id"] for r in conn.execute(text(
            "SELECT payload FROM pending_work WHERE kind = 'FLAGS' AND site = :site"), at)}
        tickets = {r[0]: json.loads(r[1]) if isinstance(r[1], str) else r[1]
                   for r in conn.execute(text(
                       "SELECT ticket_id, txn_ids FROM ticket WHERE site = :site"), at)}
        pending = int(conn.execute(text(
            "SELECT COUNT(*) FROM pending_work WHERE status IN ('PENDING', 'RUNNING')"
        )).scalar_one())
        failed = [str(r[0]) for r in conn.execute(text(
            "SELECT last_error FROM pending_work WHERE status = 'FAILED'"))]
    return Streamed(stored, scored, flagged, tickets, pending, failed)


def scored_count(engine: Any) -> int:
    """How many streamed events the workers have scored so far."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT COUNT(*) FROM scored_event")).scalar_one())


def progress(engine: Any) -> str:
    """Where a stream that did not settle stands: events scored, work items per status."""
    with engine.connect() as conn:
        work = {r[0]: r[1] for r in conn.execute(text(
            "SELECT status, COUNT(*) FROM pending_work GROUP BY status"))}
        stuck = [f"{r[0]} {r[1]} x{r[2]}: {str(r[3])[:200]}" for r in conn.execute(text(
            "SELECT kind, status, attempts, last_error FROM pending_work "
            "WHERE status <> 'DONE' ORDER BY id LIMIT 5"))]
    return f"{scored_count(engine)} events scored, work {work}, not done: {stuck}"


def settled(engine: Any, expected: int) -> Callable[[], bool]:
    """A check that every streamed event is scored and no triage work is left."""
    def check() -> bool:
        with engine.connect() as conn:
            left = int(conn.execute(text(
                "SELECT COUNT(*) FROM pending_work WHERE status IN ('PENDING', 'RUNNING')"
            )).scalar_one())
        return scored_count(engine) >= expected and left == 0
    return check
