"""The durable write-back outbox: an approval enqueues its write-back in its own transaction.

A ticket's complete approval and its outbox row commit together, so an approved write-back
cannot be lost: if the process dies before the WMS answers, the row stays RUNNING under the
dead process's claim and the next worker takes it over (at once when the claimer was a
process on this host that is gone, after ``TALLY_WRITE_BACK_LEASE_S`` otherwise) and
writes it again under the same idempotency key, so it lands once. One row per ticket,
approved digest and round (a person's retry after a FAILED answer is the next round).
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, Engine, Text, UniqueConstraint, func, insert, select, update
from sqlmodel import Column, Field, SQLModel

from actions.decision import Decision
from warehouse.canonical import canonical_json

HOST = socket.gethostname()
OWNER = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
"""This process's claim tag: host, pid and a per-process token (pids are reused)."""


class OutboxStatus(StrEnum):
    """Where one queued write-back stands."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DONE = "DONE"


class WriteBackOutbox(SQLModel, table=True):
    """One approved write-back waiting for (or done by) the WMS."""

    __tablename__ = "write_back_outbox"
    __table_args__ = (UniqueConstraint("ticket_id", "digest", "round"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: str = Field(max_length=128, index=True)
    digest: str = Field(max_length=64, description="the approved action's digest")
    round: int = Field(default=1, description="1 for the approval, +1 per retry")
    decision: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default=OutboxStatus.PENDING.value, max_length=16, index=True)
    attempts: int = 0
    claimed_by: str | None = Field(default=None, max_length=200)
    claimed_at: str | None = Field(default=None, max_length=40)
    created_at: str = Field(max_length=40)
    finished_at: str | None = Field(default=None, max_length=40)
    outcome: str | None = Field(default=None, max_length=32)


class OutboxItem(BaseModel):
    """A claimed write-back as the executor receives it."""

    id: int
    ticket_id: str
    digest: str
    round: int
    decision: Decision
    attempts: int


_T = WriteBackOutbox.__table__  # type: ignore[attr-defined]


def _iso(ts: datetime) -> str:
    return ts.isoformat(timespec="microseconds")


def enqueue(conn: Connection, *, decision: Decision, round_: int = 1) -> int:
    """Queue the write-back of an approved decision inside ``conn``'s open transaction.

    The row is born claimed by this process (``attempts`` 0), which writes it back right
    after the commit; if this process dies first, another worker takes it over.

    Returns:
        The outbox row id.
    """
    assert decision.ticket_id and decision.action_digest
    now = _iso(datetime.now(UTC))
    result = conn.execute(insert(_T).values(
        ticket_id=decision.ticket_id, digest=decision.action_digest, round=round_,
        decision=canonical_json(decision), status=OutboxStatus.RUNNING.value, attempts=0,
        claimed_by=OWNER, claimed_at=now, created_at=now))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def claimer_gone(claimed_by: str | None) -> bool:
    """Whether the process that claimed a row is known to be dead (a process on this host)."""
    if not claimed_by:
        return True
    host, _, rest = claimed_by.partition(":")
    pid_text, _, token = rest.partition(":")
    if host != HOST or not pid_text.isdigit():
        return False
    if int(pid_text) == os.getpid():
        return claimed_by != OWNER
    return not _alive(int(pid_text))


class Outbox:
    """Claims and finishes queued write-backs.

    Args:
        engine: the store's database.
        lease_s: a RUNNING row claimed longer ago than this is taken over even when its
            claimer cannot be seen to have died (another host).
    """

    def __init__(self, engine: Engine, *, lease_s: float = 120.0) -> None:
        self.engine = engine
        self.lease = timedelta(seconds=lease_s)

    def claim(self, item_id: int | None = None) -> OutboxItem | None:
        """Take one write-back that is pending or whose claimer is gone; None when none is.

        Args:
            item_id: only this row: this process's own new row (the approving request runs
                its write-back itself right after the commit) or one free to take.
        """
        now = datetime.now(UTC)
        expired = _iso(now - self.lease)
        query = select(_T).where(_T.c.status != OutboxStatus.DONE.value).order_by(_T.c.id)
        if item_id is not None:
            query = query.where(_T.c.id == item_id)
        with self.engine.begin() as conn:
            for row in conn.execute(query.limit(50)):
                own_new = row.claimed_by == OWNER and row.attempts == 0 and item_id is not None
                free = (row.status == OutboxStatus.PENDING.value
                        or (row.claimed_at or "") < expired or claimer_gone(row.claimed_by))
                if not (own_new or free):
                    continue
                taken = conn.execute(
                    update(_T)
                    .where(_T.c.id == row.id, _T.c.status == row.status,
                           _T.c.attempts == row.attempts)
                    .values(status=OutboxStatus.RUNNING.value, claimed_by=OWNER,
                            claimed_at=_iso(now), attempts=row.attempts + 1)
                )
                if taken.rowcount == 1:
                    return OutboxItem(id=row.id, ticket_id=row.ticket_id, digest=row.digest,
                                      round=row.round, attempts=row.attempts + 1,
                                      decision=Decision.model_validate(json.loads(row.decision)))
        return None

    def finish(self, conn: Connection, item: OutboxItem, outcome: str) -> None:
        """Mark ``item`` done inside ``conn``'s transaction (with the ticket's outcome)."""
        conn.execute(update(_T).where(_T.c.id == item.id).values(
            status=OutboxStatus.DONE.value, outcome=outcome[:32],
            finished_at=_iso(datetime.now(UTC))))

    def release(self, item: OutboxItem) -> None:
        """Give ``item`` back (this process could not run it now); any worker may retry it."""
        with self.engine.begin() as conn:
            conn.execute(update(_T).where(_T.c.id == item.id, _T.c.claimed_by == OWNER)
                         .values(status=OutboxStatus.PENDING.value, claimed_by=None))

    def open_ids(self, ticket_id: str) -> list[int]:
        """The ids of a ticket's write-backs not done yet, oldest first."""
        with self.engine.connect() as conn:
            return [int(i) for i in conn.execute(select(_T.c.id).where(
                _T.c.ticket_id == ticket_id, _T.c.status != OutboxStatus.DONE.value)
                .order_by(_T.c.id)).scalars()]

    def rounds(self, ticket_id: str) -> int:
        """The highest round queued for a ticket (0: none)."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(_T.c.round), 0)).where(
                _T.c.ticket_id == ticket_id)).scalar_one())

    def open_rows(self, ticket_id: str) -> int:
        """Write-backs of a ticket not done yet."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(_T).where(
                _T.c.ticket_id == ticket_id, _T.c.status != OutboxStatus.DONE.value)).scalar_one())

    def counts(self) -> dict[str, Any]:
        """Rows per status."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(_T.c.status, func.count()).group_by(_T.c.status))
            return {row[0]: row[1] for row in rows}
