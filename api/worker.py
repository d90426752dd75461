"""Pending work kept in the store, and the background worker that drains it.

The event API enqueues what the scorer flagged; the worker hands each item to a
:data:`Triage` callable (the agent graph, once it is wired in) and marks it done. The
queue is a table, not memory, so a restarted server picks up where the last one stopped:
an item whose worker died mid-way is claimed again once its lease runs out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from psycopg import InterfaceError as PgInterfaceError
from psycopg import OperationalError as PgOperationalError
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, Text, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlmodel import Column, Field, SQLModel

from api.background import BackgroundLoop
from warehouse.canonical import canonical_json
from warehouse.sites import DEFAULT_SITE, site_column

log = logging.getLogger(__name__)


class WorkStatus(StrEnum):
    """Lifecycle of one pending-work item."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


class PendingWork(SQLModel, table=True):
    """One unit of work (e.g. flags of one transaction to triage)."""

    __tablename__ = "pending_work"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    site: str = Field(default=DEFAULT_SITE, sa_column=site_column(index=True))
    dedup_key: str = Field(max_length=200, unique=True)
    correlation_id: str | None = Field(default=None, max_length=200, index=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=WorkStatus.PENDING.value, max_length=16, index=True)
    attempts: int = 0
    created_at: str = Field(max_length=40)
    claimed_at: str | None = Field(default=None, max_length=40)
    finished_at: str | None = Field(default=None, max_length=40)
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class WorkItem(BaseModel):
    """A claimed item as the triage callable receives it."""

    id: int
    kind: str
    site: str = DEFAULT_SITE
    correlation_id: str | None
    payload: dict[str, Any]
    attempts: int


Triage = Callable[[WorkItem], None]
"""Does the work of one item; raising marks the attempt failed (retried up to a limit)."""

_OUT_OF_REACH = (OperationalError, InterfaceError, PgOperationalError, PgInterfaceError)


def out_of_reach(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database was out of reach.

    A server restart or a dropped connection is not the work's fault: such an attempt is
    not counted against the item's ``max_attempts``, or an outage would fail good work.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _OUT_OF_REACH) or (
                isinstance(seen, DBAPIError) and seen.connection_invalidated):
            return True
        seen = seen.__cause__ or seen.__context__
    return False

_T = PendingWork.__table__  # type: ignore[attr-defined]


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="microseconds")


class WorkQueue:
    """The pending-work table as a queue: enqueue, claim with a lease, finish."""

    def __init__(self, engine: Engine, *, lease_s: float = 300.0, max_attempts: int = 3) -> None:
        self.engine = engine
        self.lease = timedelta(seconds=lease_s)
        self.max_attempts = max_attempts

    def enqueue(
        self,
        *,
        kind: str,
        dedup_key: str,
        payload: BaseModel | dict[str, Any],
        correlation_id: str | None = None,
        conn: Connection | None = None,
        site: str = DEFAULT_SITE,
    ) -> bool:
        """Add an item unless one with ``dedup_key`` exists; True when it was added.

        ``conn``: add it inside this connection's open transaction (the caller commits).
        ``site``: the site the item is about (a worker claims one site's items together).
        """
        values = {"kind": kind, "site": site, "dedup_key": dedup_key,
                  "correlation_id": correlation_id,
                  "payload": canonical_json(payload), "status": WorkStatus.PENDING.value,
                  "attempts": 0, "created_at": _iso(_now())}
        if conn is not None:
            dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
            added = conn.execute(dialect.insert(_T).values(**values).on_conflict_do_nothing())
            return added.rowcount == 1
        try:
            with self.engine.begin() as tx:
                tx.execute(insert(_T).values(**values))
        except IntegrityError:
            return False
        return True

    def enqueue_within(self, writer: Any, *, kind: str, dedup_key: str,
                       payload: BaseModel | dict[str, Any], correlation_id: str | None = None,
                       site: str = DEFAULT_SITE) -> None:
        """Add an item (unless ``dedup_key`` exists) inside a store writer's transaction.

        ``writer``: a :class:`warehouse.store.bulk.BulkWriter` whose transaction is open
        (``Store.append_transactions(..., within=...)``), so the item and the rows commit
        together.
        """
        p = writer.placeholder
        cursor = writer.raw.cursor()
        cursor.execute(
            "INSERT INTO pending_work (kind, site, dedup_key, correlation_id, payload, status, "
            f"attempts, created_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, 0, {p}) "
            "ON CONFLICT (dedup_key) DO NOTHING",
            (kind, site, dedup_key, correlation_id, canonical_json(payload),
             WorkStatus.PENDING.value, _iso(_now())))
        cursor.close()

    def claim(self, kind: str | None = None, site: str | None = None) -> WorkItem | None:
        """Take the oldest item that is pending or whose lease ran out; None when idle.

        Args:
            kind: only items of this kind (any kind when None).
            site: only items of this site (any site when None).
        """
        now = _now()
        expired = _iso(now - self.lease)
        claimable = or_(
            _T.c.status == WorkStatus.PENDING.value,
            (_T.c.status == WorkStatus.RUNNING.value) & (_T.c.claimed_at < expired),
        )
        if kind is not None:
            claimable = claimable & (_T.c.kind == kind)
        if site is not None:
            claimable = claimable & (_T.c.site == site)
        with self.engine.begin() as conn:
            for row in conn.execute(select(_T).where(claimable).order_by(_T.c.id).limit(8)):
                # Optimistic claim: only one worker's UPDATE matches the row as it was read.
                taken = conn.execute(
                    update(_T)
                    .where(_T.c.id == row.id, _T.c.status == row.status)
                    .where(_T.c.attempts == row.attempts)
                    .values(
                        status=WorkStatus.RUNNING.value,
                        claimed_at=_iso(now),
                        attempts=row.attempts + 1,
                    )
                )
                if taken.rowcount == 1:
                    return WorkItem(
                        id=row.id,
                        kind=row.kind,
                        site=row.site,
                        correlation_id=row.correlation_id,
                        payload=json.loads(row.payload),
                        attempts=row.attempts + 1,
                    )
        return None

    def done(self, item: WorkItem) -> None:
        """Mark an item finished."""
        self._finish(item, WorkStatus.DONE, None)

    def failed(self, item: WorkItem, error: str, *, counted: bool = True) -> None:
        """Record a failed attempt: back to pending, or FAILED after ``max_attempts``.

        ``counted=False`` (the database was out of reach): back to pending, the attempt not
        counted.
        """
        if not counted:
            self._finish(item, WorkStatus.PENDING, error[:2000], attempts=item.attempts - 1)
            return
        status = WorkStatus.FAILED if item.attempts >= self.max_attempts else WorkStatus.PENDING
        self._finish(item, status, error[:2000])

    def counts(self) -> dict[str, int]:
        """Items per status."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(_T.c.status, func.count()).group_by(_T.c.status))
            return {row[0]: row[1] for row in rows}

    def _finish(self, item: WorkItem, status: WorkStatus, error: str | None,
                attempts: int | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(_T)
                .where(_T.c.id == item.id)
                .values(
                    status=status.value,
                    last_error=error,
                    finished_at=_iso(_now()) if status is not WorkStatus.PENDING else None,
                    claimed_at=None if status is WorkStatus.PENDING else _T.c.claimed_at,
                    attempts=_T.c.attempts if attempts is None else attempts,
                )
            )


class Worker:
    """Drains a :class:`WorkQueue` into a :data:`Triage` callable on a background thread.

    ``kind``: only items of this kind (every kind when None).
    """

    def __init__(self, queue: WorkQueue, triage: Triage, *, poll_s: float = 0.5,
                 kind: str | None = None) -> None:
        self.queue = queue
        self.triage = triage
        self.poll_s = poll_s
        self.kind = kind
        self._loop = BackgroundLoop("tally-worker", self.run_once, "worker loop error")

    def run_once(self) -> bool:
        """Claim and process one item; False when there was nothing to do."""
        item = self.queue.claim(self.kind)
        if item is None:
            return False
        try:
            self.triage(item)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the item
            log.warning("work item %s (%s) failed: %s", item.id, item.kind, exc)
            lost_store = out_of_reach(exc)
            self.queue.failed(item, f"{type(exc).__name__}: {exc}", counted=not lost_store)
            return not lost_store  # the database came back for this: wait before the next
        self.queue.done(item)
        return True

    def drain(self, limit: int = 10_000) -> int:
        """Process items until none is claimable (or ``limit``); how many were processed."""
        processed = 0
        while processed < limit and self.run_once():
            processed += 1
        return processed

    def start(self) -> None:
        """Run in a daemon thread until :meth:`stop`."""
        self._loop.start(self.poll_s)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the thread to finish its current item and wait for it."""
        self._loop.stop(timeout)
