"""A site to stream and what a batch run of the same log makes of it (the stream tests' rig).

A generated site is split into a stored history and the events that follow it, a run of
``STREAM`` events chosen to hold the most labelled problems, so a short stream still meets
several. The reference is the batch run of the same log (``tally run``'s scoring: the scorer
fitted on the stored history scoring the events as its continuation), its flags grouped into
incidents. A streamed run is compared with it on what the store holds afterwards.

One exception, named: the workers score each event on the log before it
(``Scorer.score_event``), and a few rules also read rows after the one they flag
(:data:`scoring.settle.LOOK_AHEAD`: a dock misread explained by a later re-weigh, a
variance mirrored by a later count, a negative balance healed within the grace period, a
short ASN line, an offsetting adjustment the same day; the last also reads other SKUs'
adjustments, which the window around an event does not hold, nor a partition's worker).
Where the stream meets one of them, ``Site.lookahead`` lists each flag one path gives and the
other does not, and the streamed run is held to the batch run with exactly those exceptions
(the flags of one process scoring the events in log order). Any other difference between the
two paths is a scorer bug and fails :func:`judge`.
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
from scoring.settle import LOOK_AHEAD
from scoring.types import Flag
from sim.generator import GeneratorConfig, generate
from warehouse.dataset import Dataset
from warehouse.writer import write_dataset


@dataclass(frozen=True)
class LookAhead:
    """A flag only one of the two paths gives: its rule reads rows after the flagged one."""

    txn_id: str
    code: str
    side: str
    """``online`` (the event judged on the log before it) or ``batch`` (the whole log)."""


@dataclass
class Site:
    """A site's stored history, the events to stream, and the batch run's verdict on them."""

    history_dir: Path
    events: list[dict[str, Any]]
    flagged: set[str] = field(default_factory=set)
    """txn_ids the batch run of the same log flags."""
    ticketed: set[str] = field(default_factory=set)
    """txn_ids of the batch run's incidents."""
    lookahead: list[LookAhead] = field(default_factory=list)
    """Flags that scoring each event in log order gives and the batch run does not, or back."""
    online: tuple[set[str], set[str]] = field(default_factory=lambda: (set(), set()))
    """Flagged and ticketed txn_ids of one process scoring the events in log order."""

    @property
    def expected(self) -> tuple[set[str], set[str]]:
        """Flagged and ticketed txn_ids a streamed run must hold: the batch run's, unless
        :attr:`lookahead` names exceptions (then those of scoring in log order)."""
        return self.online if self.lookahead else (self.flagged, self.ticketed)


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
    return history, Site(history_dir=folder, events=list(frame_events(streamed)))


def judge(site: Site, fitted: Scorer, data: Dataset) -> Site:
    """Fill in the batch run's flags and incidents, and where scoring in log order differs.

    Raises:
        AssertionError: the two paths differ on a rule that reads only rows before the one it
            flags (one rule defined twice: a scorer bug, not a look-ahead).
    """
    frame = pd.DataFrame(site.events)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    result = fitted.score_batch(Dataset(data.items, data.locations, frame, None, {}))
    site.flagged = {f.txn_id for f in result.flags}
    site.ticketed = {t for i in result.incidents for t in i.txn_ids}
    one = copy.deepcopy(fitted)
    flags = [f for event in site.events for f in one.score_event(event)]
    site.online = ({f.txn_id for f in flags}, {t for i in one.incidents(flags) for t in i.txn_ids})
    site.lookahead = sorted(_differences(flags, result.flags), key=lambda g: (g.txn_id, g.code))
    unexplained = [g for g in site.lookahead if g.code not in LOOK_AHEAD]
    assert not unexplained, f"online and batch scoring differ on rules without look-ahead: " \
        f"{unexplained}"
    return site


def _differences(online: list[Flag], batch: list[Flag]) -> list[LookAhead]:
    """(txn_id, code) pairs one path flags and the other does not."""
    on = {(f.txn_id, f.code) for f in online}
    whole = {(f.txn_id, f.code) for f in batch}
    return [LookAhead(t, c, "online") for t, c in on - whole] + [
        LookAhead(t, c, "batch") for t, c in whole - on]


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
