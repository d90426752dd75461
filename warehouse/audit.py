"""The audit log: append-only, hash-chained records of everything Tally decides or does.

Every later stage (scorer flags, model inferences, tickets, decisions, write-backs) records
here, so this module is a sink: it imports nothing from those stages. Each record carries
the hash of the one before it, so an edit, a deletion or a reordering breaks the chain and
:meth:`AuditLog.verify` names the first record where it breaks. A one-row head table holds
the latest sequence number and hash; it is also the lock that serializes appends
(``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so concurrent
writers never fork the chain. Truncating the tail and rewriting the head together can only
be caught against a head hash kept elsewhere: ``tally audit verify`` prints it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, Text, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Column, SQLModel
from sqlmodel import Field as SqlField

from warehouse.canonical import canonical_json, sha256_hex

GENESIS_HASH = "0" * 64


class AuditKind(StrEnum):
    """What an audit record is about."""

    FLAG = "FLAG"
    INFERENCE = "INFERENCE"
    TICKET = "TICKET"
    DECISION = "DECISION"
    WRITE_BACK = "WRITE_BACK"
    ACCESS = "ACCESS"
    LEARNING = "LEARNING"


class AuditRecord(SQLModel, table=True):
    """One link of the chain. Rows are only ever inserted, never updated or deleted."""

    __tablename__ = "audit_log"

    seq: int = SqlField(primary_key=True, sa_column_kwargs={"autoincrement": False})
    ts: str = SqlField(max_length=40, description="ISO-8601 UTC time of the append")
    kind: str = SqlField(max_length=32, index=True)
    correlation_id: str | None = SqlField(default=None, max_length=200, index=True)
    payload: str = SqlField(sa_column=Column(Text, nullable=False))
    prev_hash: str = SqlField(max_length=64)
    hash: str = SqlField(max_length=64)


class AuditHead(SQLModel, table=True):
    """The chain's head (always the row with id 1): the append lock and the tail anchor."""

    __tablename__ = "audit_head"

    id: int = SqlField(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = 0
    hash: str = SqlField(default=GENESIS_HASH, max_length=64)


class AuditEntry(BaseModel):
    """A record as readers see it, with the payload parsed."""

    seq: int
    ts: str
    kind: str
    correlation_id: str | None
    payload: dict[str, Any]
    hash: str


class AuditProblem(BaseModel):
    """One place where the chain does not hold."""

    seq: int
    problem: str


class VerifyReport(BaseModel):
    """What :meth:`AuditLog.verify` found."""

    ok: bool
    records: int = Field(description="records read")
    head_seq: int
    head_hash: str
    problems: list[AuditProblem] = Field(default_factory=list)


def record_hash(
    *, seq: int, ts: str, kind: str, correlation_id: str | None, payload: str, prev_hash: str
) -> str:
    """The hash of one record: SHA-256 over the canonical JSON of all its fields."""
    return sha256_hex(
        canonical_json(
            {
                "seq": seq,
                "ts": ts,
                "kind": kind,
                "correlation_id": correlation_id,
                "payload": payload,
                "prev_hash": prev_hash,
            }
        )
    )


_LOG = AuditRecord.__table__  # type: ignore[attr-defined]
_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
MAX_PROBLEMS = 100


class AuditLog:
    """Appends to and verifies the chain kept in the store's database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def append(
        self,
        kind: AuditKind | str,
        payload: BaseModel | Mapping[str, Any],
        correlation_id: str | None = None,
    ) -> AuditEntry:
        """Add one record at the head of the chain, in its own transaction.

        Args:
            kind: what the record is about (an :class:`AuditKind`).
            payload: the facts to keep, JSON-serializable (a pydantic model or a mapping).
            correlation_id: the transaction, incident or ticket id that ties records together.

        Returns:
            The record as written, with its sequence number and hash.
        """
        kind = AuditKind(kind)
        body = canonical_json(payload)
        if not body.startswith("{"):
            raise ValueError("an audit payload must be a JSON object")
        ts = datetime.now(UTC).isoformat(timespec="microseconds")
        with self._locked_head() as (conn, head_seq, head_hash):
            seq = head_seq + 1
            digest = record_hash(
                seq=seq,
                ts=ts,
                kind=kind.value,
                correlation_id=correlation_id,
                payload=body,
                prev_hash=head_hash,
            )
            conn.execute(
                insert(_LOG).values(
                    seq=seq,
                    ts=ts,
                    kind=kind.value,
                    correlation_id=correlation_id,
                    payload=body,
                    prev_hash=head_hash,
                    hash=digest,
                )
            )
            conn.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq, hash=digest))
        return AuditEntry(
            seq=seq,
            ts=ts,
            kind=kind.value,
            correlation_id=correlation_id,
            payload=to_dict(body),
            hash=digest,
        )

    def entries(
        self, *, correlation_id: str | None = None, kind: AuditKind | None = None, limit: int = 500
    ) -> list[AuditEntry]:
        """Records in chain order, optionally for one correlation id or kind."""
        query = select(_LOG).order_by(_LOG.c.seq).limit(limit)
        if correlation_id is not None:
            query = query.where(_LOG.c.correlation_id == correlation_id)
        if kind is not None:
            query = query.where(_LOG.c.kind == AuditKind(kind).value)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            AuditEntry(
                seq=row["seq"],
                ts=row["ts"],
                kind=row["kind"],
                correlation_id=row["correlation_id"],
                payload=to_dict(row["payload"]),
                hash=row["hash"],
            )
            for row in rows
        ]

    def verify(self) -> VerifyReport:
        """Walk the whole chain and report every record where it does not hold.

        Detects an edited field (hash mismatch), a deleted or inserted record (gap in the
        sequence or broken link), reordering (broken link) and a truncated tail (the head
        points past the last record).
        """
        problems: list[AuditProblem] = []
        expected_seq, prev = 1, GENESIS_HASH
        count = 0
        with self.engine.connect() as conn:
            head = conn.execute(select(_HEAD).where(_HEAD.c.id == 1)).mappings().first()
            rows = conn.execution_options(yield_per=2000).execute(select(_LOG).order_by(_LOG.c.seq))
            for row in rows.mappings():
                count += 1
                if row["seq"] != expected_seq:
                    problems.append(
                        AuditProblem(
                            seq=row["seq"],
                            problem=f"sequence gap: expected {expected_seq}, found {row['seq']}",
                        )
                    )
                if row["prev_hash"] != prev:
                    problems.append(
                        AuditProblem(
                            seq=row["seq"],
                            problem="link broken: prev_hash is not the previous record's hash",
                        )
                    )
                recomputed = record_hash(
                    seq=row["seq"],
                    ts=row["ts"],
                    kind=row["kind"],
                    correlation_id=row["correlation_id"],
                    payload=row["payload"],
                    prev_hash=row["prev_hash"],
                )
                if recomputed != row["hash"]:
                    problems.append(
                        AuditProblem(
                            seq=row["seq"], problem="record edited: hash does not match contents"
                        )
                    )
                expected_seq, prev = row["seq"] + 1, row["hash"]
        head_seq = head["seq"] if head else 0
        head_hash = head["hash"] if head else GENESIS_HASH
        if head_seq != expected_seq - 1 or head_hash != prev:
            problems.append(
                AuditProblem(
                    seq=head_seq,
                    problem=f"head points at record {head_seq} but the chain ends at "
                    f"{expected_seq - 1}: records were deleted or the head was changed",
                )
            )
        return VerifyReport(
            ok=not problems,
            records=count,
            head_seq=head_seq,
            head_hash=head_hash,
            problems=problems[:MAX_PROBLEMS],
        )

    @contextmanager
    def _locked_head(self) -> Iterator[tuple[Connection, int, str]]:
        """Open a transaction holding the append lock; yield the head; commit on exit."""
        with self.engine.connect() as conn:
            dialect = conn.dialect.name
            if dialect == "sqlite":
                driver = conn.connection.driver_connection
                if not getattr(driver, "in_transaction", True):
                    # Take the write lock before reading the head: a deferred transaction
                    # could read a head another writer is about to move.
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                conn.execute(
                    sqlite.insert(_HEAD).values(id=1, seq=0, hash=GENESIS_HASH)
                    .on_conflict_do_nothing()
                )
            elif dialect == "postgresql":
                conn.execute(
                    postgresql.insert(_HEAD).values(id=1, seq=0, hash=GENESIS_HASH)
                    .on_conflict_do_nothing()
                )
            else:  # pragma: no cover - only SQLite and PostgreSQL are supported stores
                raise RuntimeError(f"the audit log does not support {dialect}")
            head = conn.execute(
                select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
            ).one()
            yield conn, head.seq, head.hash
            conn.commit()


def to_dict(body: str) -> dict[str, Any]:
    """Parse a stored payload."""
    return json.loads(body)
