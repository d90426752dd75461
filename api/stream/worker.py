"""``tally worker``: consume the partitions, store, score, and triage what was flagged.

A message is one JSON object ``{"site": ..., "events": [...]}`` (or a bare event or list of
events, site ``default``). The worker stores the valid events (a stored txn_id again is a
no-op), scores those not yet scored in the partition's order and commits their
``scored_event`` rows, flags and audit records in one transaction, then acknowledges. Rows
that break the contract, bodies that are not JSON and messages whose processing fails for
a reason other than the database being unreachable are parked on the rejects queue with
the reason, and the rest flows. The worker holds no state the store does not: kill it at
any point and another (or the same one, restarted) carries on where the store says.

Triage runs in the same process on a background thread (:class:`api.worker.Worker` over
the ``FLAGS`` items): one worker at a time per store (the triage lock), so a ticket is
opened once per incident and later flags of the incident join it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from actions.audit import AuditLog
from api.intake import Intake, RowError
from api.stream.broker import Transport
from api.stream.scoring import StreamScorer
from api.stream_tables import ScoredEvent
from api.worker import WorkQueue, out_of_reach
from warehouse.errors import UserError
from warehouse.sites import DEFAULT_SITE, check_site

log = logging.getLogger(__name__)

RETRY_PAUSE_S = 1.0
"""A message that failed because the database is unreachable is re-delivered after this."""

_SCORED = ScoredEvent.__table__  # type: ignore[attr-defined]


class Poison(Exception):
    """A message body that can never be processed (parked with this reason)."""


class Outcome(BaseModel):
    """What one message did."""

    site: str = DEFAULT_SITE
    received: int = 0
    stored_or_known: int = 0
    scored: int = 0
    flagged: int = 0
    errors: list[RowError] = Field(default_factory=list)


def encode(site: str, events: list[dict[str, Any]]) -> bytes:
    """A message body of one site's events."""
    return json.dumps({"site": site, "events": events}, separators=(",", ":")).encode()


def decode(body: bytes) -> tuple[str, list[Any]]:
    """The site and rows of a message body.

    Raises:
        Poison: the body is not JSON, or has no events.
    """
    try:
        decoded = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Poison(f"body is not JSON: {exc}") from exc
    site = DEFAULT_SITE
    if isinstance(decoded, dict) and "events" in decoded:
        site = decoded.get("site") or DEFAULT_SITE
        try:
            check_site(site)
        except UserError as exc:
            raise Poison(str(exc)) from None
        decoded = decoded["events"]
    rows = decoded if isinstance(decoded, list) else [decoded]
    if not rows:
        raise Poison("no events: send one event or a non-empty list")
    return site, rows


def _transient(exc: BaseException) -> bool:
    """Whether a failure is the database's (retry), not the message's (park).

    The database out of reach (:func:`api.worker.out_of_reach`, the work queue's test too),
    or any error it answered with as an operational one (a deadlock, a lock timeout): a
    re-delivery costs nothing, a parked message is lost to the stream.
    """
    return isinstance(exc, OperationalError) or out_of_reach(exc)


class StreamWorker:
    """Processes partition messages against the store (one per call, in a thread).

    Args:
        store: the warehouse store.
        scorer: the worker's :class:`StreamScorer`.
        audit: where flags are recorded.
    """

    def __init__(self, store: Any, *, scorer: StreamScorer, audit: AuditLog) -> None:
        self.store = store
        self.engine = store.engine
        self.scorer = scorer
        self.audit = audit
        self.queue = WorkQueue(store.engine)
        self._intakes: dict[str, Intake] = {}

    def intake(self, site: str) -> Intake:
        """The intake of a site's store (validation, conflicts, idempotent append)."""
        if site not in self._intakes:
            self._intakes[site] = Intake(store=self.store.for_site(site), queue=self.queue,
                                         audit=self.audit)
        return self._intakes[site]

    def process(self, body: bytes, partition: int) -> Outcome:
        """Store, score and queue the flags of one message; what it did.

        Raises:
            Poison: the body cannot be read.
        """
        site, rows = decode(body)
        good, bad = self.intake(site).store_valid(rows)
        outcome = Outcome(site=site, received=len(rows), stored_or_known=len(good), errors=bad)
        unique = list({t.txn_id: t for t in reversed(good)}.values())[::-1]
        if not unique:
            return outcome
        part = self.scorer.partition(site, partition)
        with part.lock, self._forget_on_error(part):
            with self.engine.begin() as conn:
                part.catch_up(conn)
                done = set(conn.execute(select(_SCORED.c.txn_id).where(
                    _SCORED.c.site == site,
                    _SCORED.c.txn_id.in_([t.txn_id for t in unique]))).scalars())
                fresh = [t for t in unique if t.txn_id not in done]
                scored = part.score(fresh)
                if scored:
                    outcome.flagged = part.commit(conn, scored, queue=self.queue,
                                                  audit=self.audit)
            outcome.scored = len(scored)
        if outcome.flagged:
            self.audit.anchor_head()
        self.scorer.after_commit(site)
        return outcome

    @contextmanager
    def _forget_on_error(self, part: Any) -> Iterator[None]:
        """A failed commit leaves the window ahead of the store: rebuild it next time."""
        try:
            yield
        except BaseException:
            self.scorer.forget(part)
            raise


def park_record(body: bytes, partition: int, errors: list[RowError]) -> bytes:
    """The rejects record of a message: where it came from, why, and the body itself."""
    return json.dumps({"partition": partition, "errors": [e.model_dump() for e in errors],
                       "body": body.decode("utf-8", errors="replace")}).encode()


class Consumer:
    """The worker's broker side: up to ``concurrency`` partitions processed at once.

    Args:
        worker: does the work of one message.
        transport: the broker.
        concurrency: messages (of different partitions) processed at the same time.
    """

    def __init__(self, worker: StreamWorker, transport: Transport, *, concurrency: int = 1
                 ) -> None:
        self.worker = worker
        self.transport = transport
        self._slots = asyncio.Semaphore(concurrency)
        self.messages = 0
        self.by_partition: Counter[int] = Counter()
        """Messages processed per partition (which worker consumed what)."""
        self.parked = 0
        transport.subscribe(self.handle)

    async def handle(self, body: bytes, partition: int) -> None:
        """One message: processed, parked, or (database away) raised for re-delivery."""
        async with self._slots:
            try:
                outcome = await asyncio.to_thread(self.worker.process, body, partition)
            except Poison as exc:
                await self._park(body, partition, [RowError(index=0, field="body",
                                                            message=str(exc))])
                return
            except Exception as exc:
                if _transient(exc):
                    log.warning("partition %d: database unreachable, retrying: %s",
                                partition, exc)
                    await asyncio.sleep(RETRY_PAUSE_S)
                    raise
                log.exception("partition %d: message parked", partition)
                await self._park(body, partition, [RowError(
                    index=0, field="message", message=f"{type(exc).__name__}: {exc}")])
                return
        self.messages += 1
        self.by_partition[partition] += 1
        if outcome.errors:
            await self._park(body, partition, outcome.errors)

    async def _park(self, body: bytes, partition: int, errors: list[RowError]) -> None:
        self.parked += 1
        await self.transport.park(park_record(body, partition, errors))
