"""Scoring in the workers: one shared fit per site, one event window per partition.

Every worker scores a site with the same fitted scorer: the newest ``scorer_fit`` row,
fitted by whichever worker held the site's refit lock and loaded by the rest. Each
partition has its own copy of the fit's event window, fed only that partition's events in
the partition's order, so an event's flags do not depend on which worker scored it or on
what else that worker had seen: before scoring, a worker replays into the partition's
window what other workers (or its own earlier life) scored there since (``scored_event``).

A partition's scored events and the flags they raised commit in one transaction
(:meth:`Partition.commit`); a crash before it leaves nothing and the broker re-delivers, a
crash after it leaves the events marked scored and a re-delivery finds them so.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from actions.audit import AuditKind, AuditLog, audit_key
from api.intake import FLAGS, flags_key
from api.locks import held
from api.stream.fits import FitRefused, dump_fit, load_fit
from api.stream_tables import ScoredEvent, ScorerFit
from api.worker import WorkQueue
from scoring import Scorer
from scoring.types import Flag, Incident
from warehouse.canonical import canonical_json
from warehouse.contract import Transaction
from warehouse.settings import get_settings

log = logging.getLogger(__name__)

_SCORED = ScoredEvent.__table__  # type: ignore[attr-defined]
_FITS = ScorerFit.__table__  # type: ignore[attr-defined]
_REPLAY = text(
    "SELECT s.id, s.event FROM scored_event s "
    "JOIN transactions t ON t.site = s.site AND t.txn_id = s.txn_id "
    "WHERE s.site = :site AND s.partition = :partition AND s.id > :after AND t.seq > :fit_seq "
    "ORDER BY s.id")


class _Fit:
    """A loaded ``scorer_fit`` row (``scorer`` None: the store held no events to fit)."""

    def __init__(self, fit_id: int, scorer: Scorer | None, fit_seq: int, scored_upto: int):
        self.fit_id = fit_id
        self.scorer = scorer
        self.fit_seq = fit_seq
        self.scored_upto = scored_upto


class Partition:
    """One partition's scorer (the site's fit with the partition's own window)."""

    def __init__(self, site: str, partition: int, fit: _Fit) -> None:
        self.site = site
        self.partition = partition
        self.fit = fit
        self.scorer: Scorer | None = None
        if fit.scorer is not None:
            self.scorer = copy.copy(fit.scorer)
            self.scorer.window_ = copy.deepcopy(fit.scorer.window_)
        self.last_id = fit.scored_upto
        self.lock = threading.Lock()

    def catch_up(self, conn: Connection) -> None:
        """Replay into the window the partition's events scored since this copy last looked."""
        rows = conn.execute(_REPLAY, {"site": self.site, "partition": self.partition,
                                      "after": self.last_id, "fit_seq": self.fit.fit_seq})
        for row_id, event in rows:
            if self.scorer is not None:
                window = self.scorer.window_
                window.add(window.normalise(json.loads(event)), self.scorer.catalog_)
            self.last_id = row_id
        latest = conn.execute(select(func.max(_SCORED.c.id)).where(
            _SCORED.c.site == self.site, _SCORED.c.partition == self.partition)).scalar()
        self.last_id = max(self.last_id, int(latest or 0))

    def score(self, events: Sequence[Transaction]) -> list[tuple[Transaction, list[Flag]]]:
        """Each event's flags, in order (none before the site's first fit)."""
        if self.scorer is None:
            return [(event, []) for event in events]
        return [(event, self.scorer.score_event(event.model_dump(mode="json")))
                for event in events]

    def commit(self, conn: Connection, scored: Sequence[tuple[Transaction, list[Flag]]],
               *, queue: WorkQueue, audit: AuditLog) -> int:
        """Mark ``scored`` events scored and queue their flags, inside ``conn``'s transaction.

        Returns:
            How many events were flagged.
        """
        conn.execute(insert(_SCORED), [
            {"txn_id": e.txn_id, "site": self.site, "partition": self.partition,
             "event": canonical_json(e.model_dump(mode="json"))} for e, _ in scored])
        flagged = 0
        for event, flags in scored:
            if not flags:
                continue
            payload = {"txn_id": event.txn_id, "site": self.site,
                       "flags": [f.model_dump(mode="json") for f in flags]}
            if queue.enqueue(kind=FLAGS, dedup_key=flags_key(self.site, event.txn_id),
                             payload=payload, correlation_id=event.txn_id, conn=conn,
                             site=self.site):
                audit.append(AuditKind.FLAG, payload, correlation_id=event.txn_id, conn=conn)
                flagged += 1
        latest = conn.execute(select(func.max(_SCORED.c.id)).where(
            _SCORED.c.site == self.site, _SCORED.c.partition == self.partition)).scalar()
        self.last_id = int(latest or 0)
        return flagged


class StreamScorer:
    """The sites' shared fits and the partitions' windows of one worker process.

    Args:
        store: the warehouse store (``engine``, ``snapshot()``).
        refit_events: a site is refitted after this many events scored since its fit (0:
            never); one worker at a time, under the site's refit lock.
        make: builds an unfitted scorer.
    """

    def __init__(self, store: Any, *, refit_events: int = 0, make: type[Scorer] = Scorer
                 ) -> None:
        self.store = store
        self.engine = store.engine
        self.refit_events = refit_events
        self._make = make
        self._key = audit_key(get_settings())  # signs the shared fits (api.stream.fits)
        self._fits: dict[str, _Fit] = {}
        self._partitions: dict[tuple[str, int], Partition] = {}
        self._guard = threading.Lock()
        self._refitting: set[str] = set()

    def partition(self, site: str, partition: int) -> Partition:
        """The partition's scorer on the site's newest fit (fitted now if the site has none)."""
        fit = self._current_fit(site)
        with self._guard:
            part = self._partitions.get((site, partition))
            if part is None or part.fit.fit_id != fit.fit_id:
                part = Partition(site, partition, fit)
                self._partitions[(site, partition)] = part
            return part

    def forget(self, part: Partition) -> None:
        """Drop a partition's window (a failed commit left it ahead of the store)."""
        with self._guard:
            if self._partitions.get((part.site, part.partition)) is part:
                del self._partitions[(part.site, part.partition)]

    def for_site(self, site: str) -> SiteRules:
        """The site's incident rules, for its triage."""
        return SiteRules(self, site)

    def incidents(self, flags: Sequence[Flag], site: str) -> list[Incident]:
        """Group flags into incidents with the site's fitted rules."""
        scorer = self._current_fit(site).scorer
        if scorer is None:
            raise RuntimeError("no scorer fitted yet: the store held no transactions")
        return scorer.incidents(flags)

    def after_commit(self, site: str) -> None:
        """Start a refit in the background when enough events were scored since the fit."""
        if not self.refit_events:
            return
        fit = self._current_fit(site)
        with self.engine.connect() as conn:
            newest = int(conn.execute(select(func.max(_SCORED.c.id))
                                      .where(_SCORED.c.site == site)).scalar() or 0)
        with self._guard:
            if newest - fit.scored_upto < self.refit_events or site in self._refitting:
                return
            self._refitting.add(site)
        threading.Thread(target=self._refit_quietly, args=(site, fit.fit_id),
                         name=f"tally-refit-{site}", daemon=True).start()

    def refit(self, site: str, *, seen: int | None = None, wait: bool = True) -> bool:
        """Fit the site on the store and share the fit; False when another worker holds the lock.

        Args:
            site: the site to fit.
            seen: the fit this worker scores with; nothing is done when a newer one exists.
            wait: wait for the refit lock (True) or give up when another worker holds it.
        """
        with held(self.engine, f"refit:{site}", wait=wait) as got:
            if not got:
                return False
            newest = self._newest_fit_id(site)
            if seen is not None and newest is not None and newest != seen:
                return False  # another worker refitted meanwhile
            where = {"site": site}
            with self.engine.connect() as conn:
                scored_upto = int(conn.execute(select(func.max(_SCORED.c.id)).where(
                    _SCORED.c.site == site)).scalar() or 0)
                fit_seq = int(conn.execute(text(
                    "SELECT COALESCE(MAX(seq), 0) FROM transactions WHERE site = :site"), where
                ).scalar_one())
            data = self.store.for_site(site).snapshot()
            with self.engine.connect() as conn:  # exactly the events up to fit_seq
                upto = {r[0] for r in conn.execute(text(
                    "SELECT txn_id FROM transactions WHERE site = :site AND seq <= :s"),
                    {**where, "s": fit_seq})}
            tx = data.transactions
            data = replace(data, transactions=tx[tx["txn_id"].isin(upto)].reset_index(drop=True))
            scorer = self._make().fit(data) if len(data.transactions) else None
            with self.engine.begin() as conn:
                conn.execute(insert(_FITS).values(
                    site=site, fit_seq=fit_seq, scored_upto=scored_upto,
                    model=dump_fit(scorer, key=self._key, site=site),
                    created_at=datetime.now(UTC).isoformat()))
        log.info("site %s fitted on %d events (seq <= %d)", site, len(data.transactions), fit_seq)
        return True

    def _refit_quietly(self, site: str, seen: int) -> None:
        try:
            self.refit(site, seen=seen, wait=False)
        except Exception:  # noqa: BLE001 - the old fit keeps scoring; try again later
            log.exception("refit of site %s failed", site)
        finally:
            with self._guard:
                self._refitting.discard(site)

    def _newest_fit_id(self, site: str) -> int | None:
        with self.engine.connect() as conn:
            value = conn.execute(select(func.max(_FITS.c.id)).where(_FITS.c.site == site)
                                 ).scalar()
        return None if value is None else int(value)

    def _current_fit(self, site: str, refused: int | None = None) -> _Fit:
        """The site's newest fit, loaded once per fit (the first worker to need one fits).

        A fit whose signature does not hold is refused unread and the site fitted again
        (``refused``: the row this call already refused once).
        """
        newest = self._newest_fit_id(site)
        if newest is None:
            self.refit(site)
            newest = self._newest_fit_id(site)
            assert newest is not None
        with self._guard:
            fit = self._fits.get(site)
            if fit is not None and fit.fit_id == newest:
                return fit
        with self.engine.connect() as conn:
            row = conn.execute(select(_FITS).where(_FITS.c.id == newest)).one()
        try:
            scorer = load_fit(row.model, key=self._key, site=site, fit_id=row.id)
        except FitRefused as exc:  # never unpickled: fitted again from the store instead
            if refused is not None:
                raise  # this worker's own new fit refused too: another key is refitting
            log.error("%s; fitting site %s again from the store", exc, site)
            self.refit(site, seen=row.id)
            return self._current_fit(site, refused=row.id)
        fit = _Fit(row.id, scorer, row.fit_seq, row.scored_upto)
        with self._guard:
            self._fits[site] = fit
        return fit


class SiteRules:
    """One site's incident grouping (what :class:`api.service.ServiceTriage` asks a scorer)."""

    def __init__(self, scorer: StreamScorer, site: str) -> None:
        self.scorer = scorer
        self.site = site

    def incidents(self, flags: Sequence[Flag]) -> list[Incident]:
        """Group flags into incidents with the site's newest fit."""
        return self.scorer.incidents(flags, self.site)
