"""The audit log: append-only, keyed-hash-chained records of everything Tally decides or does.

Every later stage (scorer flags, model inferences, tickets, decisions, write-backs) records
here, so this module is a sink: it imports nothing from those stages. Each record carries
the HMAC-SHA256 (key ``TALLY_AUDIT_KEY``, held outside the database) of its fields and the
previous record's hash, so an edit, a deletion or a reordering breaks the chain, and one
rewritten and rehashed by someone without the key (with plain SHA-256, say) does not verify;
:meth:`AuditLog.verify` names the records where it breaks. A one-row head table holds
the latest sequence number and hash; it is also the lock that serializes appends
(``SELECT ... FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so concurrent
writers never fork the chain.

Cutting the tail and rewinding the head together leaves a chain that is consistent in
itself; the head is therefore also anchored outside the database: after each decision and
write-back the head's sequence number and hash are appended to an append-only file in the
data dir (:data:`ANCHOR_FILE`), one line per anchor, tagged with the database they belong
to. :meth:`AuditLog.verify` checks every anchored head against the chain: a chain that ends
before an anchored record, or holds another hash there, was rewound or rewritten.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine, RowMapping, Text, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Column, SQLModel
from sqlmodel import Field as SqlField

from actions.audit_legacy import SEAL_EVENT, LegacySeal, legacy_hash, record_fields
from warehouse.canonical import canonical_json, sha256_hex
from warehouse.errors import UserError
from warehouse.settings import Settings, get_settings

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
ANCHOR_FILE = "audit-anchor.jsonl"
"""The append-only file in the data dir that holds the chain's anchored heads."""
DEV_AUDIT_KEY = "tally-dev-audit-key-not-secret"
"""The key used outside prod when ``TALLY_AUDIT_KEY`` is unset (a warning says so)."""


class AuditKind(StrEnum):
    """What an audit record is about."""

    FLAG = "FLAG"
    INFERENCE = "INFERENCE"
    TICKET = "TICKET"
    DECISION = "DECISION"
    WRITE_BACK = "WRITE_BACK"
    ACCESS = "ACCESS"
    LEARNING = "LEARNING"
    CHAIN = "CHAIN"
    """The chain's own records: the seal of an older format's records."""


ANCHORED_KINDS = frozenset({AuditKind.DECISION, AuditKind.WRITE_BACK, AuditKind.CHAIN})
"""Kinds whose append also anchors the head outside the database."""


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
    anchored: int = Field(default=0, description="anchored heads checked against the chain")
    anchor_path: str | None = Field(default=None, description="where the anchors are kept")
    problems: list[AuditProblem] = Field(default_factory=list)


def record_hash(
    *, key: bytes, seq: int, ts: str, kind: str, correlation_id: str | None, payload: str,
    prev_hash: str,
) -> str:
    """The hash of one record: HMAC-SHA256 under ``key`` of the canonical JSON of its fields."""
    return hmac.new(
        key,
        record_fields(seq=seq, ts=ts, kind=kind, correlation_id=correlation_id,
                      payload=payload, prev_hash=prev_hash).encode("utf-8"),
        hashlib.sha256,
    ).hexdigest()


_warned: list[bool] = []


def audit_key(settings: Settings) -> bytes:
    """The chain's HMAC key from the settings; the dev default (with a warning) when unset."""
    if settings.audit_key is not None and settings.audit_key.get_secret_value():
        return settings.audit_key.get_secret_value().encode("utf-8")
    if not _warned:
        _warned.append(True)
        log.warning("TALLY_AUDIT_KEY is unset: the audit chain is keyed with the development "
                    "default, which anyone can read here; set a secret key outside dev")
    return DEV_AUDIT_KEY.encode("utf-8")


def chain_id(engine: Engine) -> str:
    """Which database a chain lives in, as its anchors name it (a digest of the URL)."""
    return sha256_hex(engine.url.render_as_string(hide_password=True))[:16]


_LOG = AuditRecord.__table__  # type: ignore[attr-defined]
_HEAD = AuditHead.__table__  # type: ignore[attr-defined]
MAX_PROBLEMS = 100


class AuditLog:
    """Appends to and verifies the chain kept in the store's database.

    Args:
        engine: the store's database.
        settings: where the key (``TALLY_AUDIT_KEY``) and the anchor file (in the data dir)
            come from; the process's settings when None.
        key: the HMAC key, overriding the settings'.
        anchor_path: the anchor file, overriding the data dir's.
    """

    def __init__(self, engine: Engine, *, settings: Settings | None = None,
                 key: bytes | None = None, anchor_path: Path | None = None) -> None:
        self.engine = engine
        cfg = settings or get_settings()
        self.key = key if key is not None else audit_key(cfg)
        self.anchor_path = anchor_path if anchor_path is not None else cfg.data_dir / ANCHOR_FILE
        self.chain = chain_id(engine)

    def append(
        self,
        kind: AuditKind | str,
        payload: BaseModel | Mapping[str, Any],
        correlation_id: str | None = None,
        *,
        conn: Connection | None = None,
    ) -> AuditEntry:
        """Add one record at the head of the chain.

        Args:
            kind: what the record is about (an :class:`AuditKind`).
            payload: the facts to keep, JSON-serializable (a pydantic model or a mapping).
            correlation_id: the transaction, incident or ticket id that ties records together.
            conn: append inside this connection's open transaction (the caller commits, then
                calls :meth:`anchor_head`); its own transaction, committed and anchored for
                decisions and write-backs, when None.

        Returns:
            The record as written, with its sequence number and hash.
        """
        kind = AuditKind(kind)
        body = canonical_json(payload)
        if not body.startswith("{"):
            raise ValueError("an audit payload must be a JSON object")
        ts = datetime.now(UTC).isoformat(timespec="microseconds")
        with self._locked_head(conn) as (tx, head_seq, head_hash):
            seq = head_seq + 1
            digest = record_hash(
                key=self.key,
                seq=seq,
                ts=ts,
                kind=kind.value,
                correlation_id=correlation_id,
                payload=body,
                prev_hash=head_hash,
            )
            tx.execute(
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
            tx.execute(update(_HEAD).where(_HEAD.c.id == 1).values(seq=seq, hash=digest))
        if conn is None and kind in ANCHORED_KINDS:
            self.anchor_head()
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

    def anchor_head(self) -> None:
        """Append the chain's current head to the anchor file (outside the database).

        Called after each committed decision and write-back. A failed write is logged, not
        raised: the decision is committed by then, and the next anchor covers it.
        """
        with self.engine.connect() as conn:
            head = conn.execute(select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1)).first()
        if head is None or head.seq == 0:
            return
        line = canonical_json({"chain": self.chain, "seq": head.seq, "hash": head.hash,
                               "ts": datetime.now(UTC).isoformat(timespec="microseconds")})
        try:
            self.anchor_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.anchor_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            log.exception("could not anchor the audit head in %s", self.anchor_path)

    def anchors(self) -> dict[int, str]:
        """The anchored heads of this chain: hash by sequence number (unreadable lines skipped)."""
        found: dict[int, str] = {}
        if not self.anchor_path.exists():
            return found
        for line in self.anchor_path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
                if entry.get("chain") == self.chain:
                    found[int(entry["seq"])] = str(entry["hash"])
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
        return found

    def verify(self) -> VerifyReport:
        """Walk the whole chain and report every record where it does not hold.

        Detects an edited field or a record rehashed without the key (HMAC mismatch), a
        deleted or inserted record (gap in the sequence or broken link), reordering (broken
        link), a truncated tail (the head points past the last record), and a cut tail with
        a rewound head, or a rewritten chain, against the anchored heads: each anchored
        record must still be there with the anchored hash. A chain with decisions or
        write-backs but no anchor for them fails too (the anchor file was lost or replaced).
        """
        problems: list[AuditProblem] = []
        anchors = self.anchors()
        seen_anchors: dict[int, str] = {}
        expected_seq, prev = 1, GENESIS_HASH
        count = anchored_kinds = 0
        sealed = self._sealed()
        seal = sealed[1] if sealed is not None and sealed[0] > sealed[1].through_seq else None
        if sealed is not None and seal is None:
            problems.append(AuditProblem(seq=sealed[0], problem=(
                "a legacy seal that does not come after the records it seals: not one "
                "Tally wrote")))
        with self.engine.connect() as conn:
            head = conn.execute(select(_HEAD).where(_HEAD.c.id == 1)).mappings().first()
            rows = conn.execution_options(yield_per=2000).execute(select(_LOG).order_by(_LOG.c.seq))
            for row in rows.mappings():
                count += 1
                anchored_kinds += row["kind"] in ANCHORED_KINDS
                if row["seq"] in anchors:
                    seen_anchors[row["seq"]] = row["hash"]
                legacy = seal is not None and row["seq"] <= seal.through_seq
                problems.extend(self._check_row(row, expected_seq, prev, legacy=legacy))
                if seal is not None and row["seq"] == seal.through_seq \
                        and row["hash"] != seal.through_hash:
                    problems.append(AuditProblem(seq=row["seq"], problem=(
                        "record differs from the hash its legacy seal names: the records "
                        "of the older format were rewritten")))
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
        problems.extend(self._check_anchors(anchors, seen_anchors, expected_seq - 1,
                                            anchored_kinds))
        return VerifyReport(
            ok=not problems,
            records=count,
            head_seq=head_seq,
            head_hash=head_hash,
            anchored=len(anchors),
            anchor_path=str(self.anchor_path),
            problems=problems[:MAX_PROBLEMS],
        )

    def _check_row(self, row: RowMapping, expected_seq: int, prev: str, *, legacy: bool = False
                   ) -> list[AuditProblem]:
        found: list[AuditProblem] = []
        if row["seq"] != expected_seq:
            found.append(AuditProblem(seq=row["seq"], problem=f"sequence gap: expected "
                                      f"{expected_seq}, found {row['seq']}"))
        if row["prev_hash"] != prev:
            found.append(AuditProblem(
                seq=row["seq"], problem="link broken: prev_hash is not the previous record's hash"))
        recomputed = legacy_hash(row) if legacy else record_hash(
            key=self.key, seq=row["seq"], ts=row["ts"], kind=row["kind"],
            correlation_id=row["correlation_id"], payload=row["payload"],
            prev_hash=row["prev_hash"])
        if not hmac.compare_digest(recomputed, row["hash"]):
            found.append(AuditProblem(
                seq=row["seq"], problem="record edited: its keyed hash does not match its "
                "contents (edited, or rehashed without the audit key)"))
        return found

    def _sealed(self) -> tuple[int, LegacySeal] | None:
        """The chain's seal of older-format records (its first) and where it is, if any."""
        with self.engine.connect() as conn:
            for seq, body in conn.execute(select(_LOG.c.seq, _LOG.c.payload).where(
                    _LOG.c.kind == AuditKind.CHAIN.value).order_by(_LOG.c.seq)):
                payload = to_dict(body)
                if payload.get("event") == SEAL_EVENT:
                    return int(seq), LegacySeal.model_validate(payload)
        return None

    def seal_legacy(self, *, head_hash: str, by: str) -> LegacySeal:
        """Seal the chain's records of the older, unkeyed format (see :mod:`actions.audit_legacy`).

        Args:
            head_hash: the head hash the older version printed, kept outside the database.
            by: who seals (kept in the seal).

        Raises:
            UserError: the chain is sealed already, holds no older-format records, or they
                do not end at ``head_hash`` (they may have been changed since).
        """
        if self._sealed() is not None:
            raise UserError("the audit chain's older-format records are sealed already")
        last: RowMapping | None = None
        prev = GENESIS_HASH
        with self.engine.connect() as conn:
            for row in conn.execute(select(_LOG).order_by(_LOG.c.seq)).mappings():
                if row["seq"] != (last["seq"] + 1 if last else 1) or row["prev_hash"] != prev \
                        or not hmac.compare_digest(legacy_hash(row), row["hash"]):
                    break
                last, prev = row, row["hash"]
        if last is None:
            raise UserError("the audit chain holds no records of the older format "
                            "(plain SHA-256) from its first record on: nothing to seal")
        if not hmac.compare_digest(last["hash"], head_hash.strip().lower()):
            raise UserError(
                f"the older-format records end at record {last['seq']} with hash "
                f"{last['hash']}, not the head hash given ({head_hash}): they may have been "
                "changed since that head was kept; not sealed")
        seal = LegacySeal(through_seq=last["seq"], through_hash=last["hash"], by=by)
        self.append(AuditKind.CHAIN, seal)
        return seal

    def _check_anchors(self, anchors: dict[int, str], seen: dict[int, str], last: int,
                       anchored_kinds: int) -> list[AuditProblem]:
        found: list[AuditProblem] = []
        for seq, digest in sorted(anchors.items()):
            if seq > last:
                found.append(AuditProblem(
                    seq=seq, problem=f"anchored head {seq} is past the chain's end at {last}: "
                    "the tail was cut and the head rewound"))
            elif seen.get(seq) != digest:
                found.append(AuditProblem(
                    seq=seq, problem=f"record {seq} differs from its anchored hash: the chain "
                    "was rewritten"))
        if anchored_kinds and not anchors:
            found.append(AuditProblem(
                seq=0, problem=f"{anchored_kinds} decision/write-back records but no anchored "
                f"head in {self.anchor_path}: the anchor file was lost or replaced"))
        return found

    @contextmanager
    def _locked_head(self, given: Connection | None = None
                     ) -> Iterator[tuple[Connection, int, str]]:
        """Hold the append lock in ``given``'s transaction or a new one; yield the head.

        A new transaction is committed on exit; ``given``'s is left to its owner.
        """
        if given is not None:
            yield (given, *self._lock(given))
            return
        with self.engine.connect() as conn:
            yield (conn, *self._lock(conn))
            conn.commit()

    @staticmethod
    def _lock(conn: Connection) -> tuple[int, str]:
        dialect = conn.dialect.name
        if dialect == "sqlite":
            begin_immediate(conn)
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
        return head.seq, head.hash


def begin_immediate(conn: Connection) -> None:
    """On SQLite, take the database's write lock now unless a transaction already holds it.

    A deferred transaction could read a row another writer is about to change; every
    read-check-write in the write path starts with this (``SELECT ... FOR UPDATE`` is the
    PostgreSQL counterpart).
    """
    if conn.dialect.name != "sqlite":
        return
    driver = conn.connection.driver_connection
    if not getattr(driver, "in_transaction", True):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def to_dict(body: str) -> dict[str, Any]:
    """Parse a stored payload."""
    return json.loads(body)
