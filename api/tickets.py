"""Tickets as the service keeps them: the contract ticket plus its life after triage.

Tables: ``ticket`` (one row per ticket: the contract fields, the current and the proposed
action, when it was created and decided, the write-back outcome), ``ticket_event`` (its
history: created, edited, approved, rejected, written back) and ``ticket_approval`` (who
approved which exact action digest). CRUD functions take the session first and everything
else by keyword; state changes are conditional updates on ``version`` so two concurrent
deciders never both win.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import JSON, ColumnElement, Text, UniqueConstraint, func, update
from sqlmodel import Column, Session, SQLModel, col, select
from sqlmodel import Field as SqlField

from api.approvals import Approval
from api.auth import Role
from warehouse.canonical import action_digest
from warehouse.contract import (
    Action,
    ActionType,
    EvidenceItem,
    RootCause,
    Severity,
    Ticket,
    TicketKind,
    TicketStatus,
)
from warehouse.sites import DEFAULT_SITE, site_column

OPEN_STATUSES = frozenset({TicketStatus.PENDING_APPROVAL, TicketStatus.APPROVED,
                           TicketStatus.WRITE_BACK_FAILED, TicketStatus.AWAITING_COUNT})
"""Statuses that still need someone (or the write-back) to act."""


def now_iso() -> str:
    """The current UTC time as ISO-8601 text (microseconds, sortable)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class TicketRecord(SQLModel, table=True):
    """One ticket and where it stands."""

    __tablename__ = "ticket"

    site: str = SqlField(default=DEFAULT_SITE, sa_column=site_column(index=True))
    ticket_id: str = SqlField(primary_key=True, max_length=128)
    txn_ids: list[str] = SqlField(sa_column=Column(JSON, nullable=False))
    sku: str | None = SqlField(default=None, max_length=128, index=True)
    location: str | None = SqlField(default=None, max_length=128, index=True)
    risk_score: float
    severity: str = SqlField(max_length=16, index=True)
    severity_rank: int = SqlField(index=True, description="0 = STOP, 1 = REVIEW, 2 = INFO")
    root_cause: str = SqlField(max_length=32, index=True)
    confidence: float
    summary: str = SqlField(sa_column=Column(Text, nullable=False))
    explanation: str = SqlField(sa_column=Column(Text, nullable=False))
    evidence: list[dict[str, Any]] = SqlField(sa_column=Column(JSON, nullable=False))
    action: dict[str, Any] = SqlField(sa_column=Column(JSON, nullable=False))
    proposed_action: dict[str, Any] = SqlField(sa_column=Column(JSON, nullable=False))
    action_digest: str = SqlField(max_length=64)
    edited_by: str | None = SqlField(default=None, max_length=64)
    unit_cost: float | None = SqlField(default=None, description="cost of one each, if known")
    value_at_risk: float = SqlField(default=0.0, index=True,
                                    description="money in question (contract section 5)")
    kind: str = SqlField(default=TicketKind.INCIDENT.value, max_length=16, index=True)
    parent_ticket_id: str | None = SqlField(default=None, max_length=128, index=True)
    child_count: int = 0
    status: str = SqlField(max_length=32, index=True)
    created_at: str = SqlField(max_length=40, index=True)
    decided_at: str | None = SqlField(default=None, max_length=40)
    decided_by: str | None = SqlField(default=None, max_length=64)
    decision_reason: str | None = SqlField(
        default=None, sa_column=Column(Text), description="why it was rejected (required)")
    write_back_status: str | None = SqlField(default=None, max_length=32)
    write_back_key: str | None = SqlField(default=None, max_length=200)
    wms_reference: str | None = SqlField(default=None, max_length=128)
    write_back_detail: str | None = SqlField(default=None, sa_column=Column(Text))
    write_back_attempts: int = 0
    extra: dict[str, Any] = SqlField(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1


class TicketEvent(SQLModel, table=True):
    """One step in a ticket's history."""

    __tablename__ = "ticket_event"

    id: int | None = SqlField(default=None, primary_key=True)
    ticket_id: str = SqlField(foreign_key="ticket.ticket_id", max_length=128, index=True)
    ts: str = SqlField(max_length=40)
    actor: str = SqlField(max_length=64)
    kind: str = SqlField(max_length=32)
    detail: dict[str, Any] = SqlField(default_factory=dict, sa_column=Column(JSON, nullable=False))


class TicketApproval(SQLModel, table=True):
    """One approval of one exact action payload (by digest)."""

    __tablename__ = "ticket_approval"
    __table_args__ = (UniqueConstraint("ticket_id", "approver", "digest"),)

    id: int | None = SqlField(default=None, primary_key=True)
    ticket_id: str = SqlField(foreign_key="ticket.ticket_id", max_length=128, index=True)
    approver: str = SqlField(max_length=64)
    role: str = SqlField(max_length=16)
    digest: str = SqlField(max_length=64)
    ts: str = SqlField(max_length=40)
    comment: str = SqlField(default="", sa_column=Column(Text, nullable=False))


class EventKind(StrEnum):
    """What happened to a ticket."""

    CREATED = "CREATED"
    EDITED = "EDITED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    WRITE_BACK = "WRITE_BACK"
    COUNT_RECEIVED = "COUNT_RECEIVED"
    ESCALATED = "ESCALATED"


class HistoryEntry(BaseModel):
    """A history step as the API shows it."""

    ts: str
    actor: str
    kind: str
    detail: dict[str, Any]


class WriteBackInfo(BaseModel):
    """The ticket's write-back so far."""

    status: str | None = Field(description="APPLIED, ALREADY_APPLIED, FAILED or null")
    idempotency_key: str | None
    wms_reference: str | None
    detail: str | None
    attempts: int


class TicketSummary(BaseModel):
    """A ticket as the queue lists it."""

    ticket_id: str
    severity: Severity
    status: str
    root_cause: RootCause
    risk_score: float
    confidence: float
    sku: str | None
    location: str | None
    summary: str
    action_type: ActionType
    value_at_risk: float = Field(description="money in question: eaches in doubt x unit cost")
    kind: TicketKind = Field(description="incident, or systemic: one cause, many occurrences")
    parent_ticket_id: str | None = Field(description="the systemic ticket this one belongs to")
    child_count: int = Field(description="on a systemic ticket: occurrences it groups")
    created_at: str
    decided_at: str | None
    age_s: float = Field(description="seconds since the ticket was created")


class TicketDetail(TicketSummary):
    """Everything about one ticket."""

    txn_ids: list[str]
    explanation: str
    evidence: list[EvidenceItem]
    action: Action
    proposed_action: Action
    action_digest: str = Field(description="digest an approval of the current action binds to")
    edited_by: str | None
    decided_by: str | None
    decision_reason: str | None = Field(default=None, description="reject: the reason given")
    approvals: list[Approval]
    write_back: WriteBackInfo
    history: list[HistoryEntry]
    extra: dict[str, Any]


class StaleTicket(Exception):
    """The ticket changed between reading and writing it (a concurrent decision won)."""


def _normal_time(text: str) -> str:
    """An ISO time as UTC text in :func:`now_iso`'s format, so stored times sort as text."""
    ts = datetime.fromisoformat(text)
    if ts.tzinfo is None:
        raise ValueError(f"time {text!r} has no UTC offset")
    return ts.astimezone(UTC).isoformat(timespec="microseconds")


def age_seconds(created_at: str, now: datetime | None = None) -> float:
    """Seconds between ``created_at`` and ``now``."""
    now = now or datetime.now(UTC)
    return max(0.0, (now - datetime.fromisoformat(created_at)).total_seconds())


def save_ticket(
    session: Session,
    *,
    ticket: Ticket,
    unit_cost: float | None = None,
    actor: str = "tally",
    created_at: str | None = None,
    site: str = DEFAULT_SITE,
) -> TicketRecord:
    """Store a triaged ticket once; an existing ticket id is left as it is.

    Args:
        session: where to write (committed here).
        ticket: the contract ticket from the agent.
        unit_cost: cost of one each of the ticket's SKU, for the approval value limits.
        actor: who created it (the agent).
        created_at: creation time (now by default).
        site: the site whose events the ticket is about.

    Returns:
        The stored row (the existing one if the id was already there).
    """
    existing = session.get(TicketRecord, ticket.ticket_id)
    if existing is not None:
        return existing
    action = ticket.action.model_dump(mode="json")
    status = ticket.status or (
        TicketStatus.NO_ACTION if ticket.action.type is ActionType.NO_ACTION
        else TicketStatus.PENDING_APPROVAL
    )
    known = set(Ticket.model_fields)
    record = TicketRecord(
        site=site,
        ticket_id=ticket.ticket_id,
        txn_ids=list(ticket.txn_ids),
        sku=ticket.sku,
        location=ticket.location,
        risk_score=ticket.risk_score,
        severity=ticket.severity.value,
        severity_rank=ticket.severity.rank,
        root_cause=ticket.root_cause.value,
        confidence=ticket.confidence,
        summary=ticket.summary,
        explanation=ticket.explanation,
        evidence=[e.model_dump(mode="json") for e in ticket.evidence],
        action=action,
        proposed_action=action,
        action_digest=action_digest(ticket.action),
        unit_cost=unit_cost,
        value_at_risk=ticket.value_at_risk,
        kind=ticket.kind.value,
        parent_ticket_id=ticket.parent_ticket_id,
        child_count=ticket.child_count,
        status=str(status),
        created_at=_normal_time(created_at) if created_at else now_iso(),
        extra={k: v for k, v in ticket.model_dump(mode="json").items() if k not in known},
    )
    session.add(record)
    session.flush()  # the row first: PostgreSQL checks the history's foreign key
    session.add(TicketEvent(ticket_id=record.ticket_id, ts=record.created_at, actor=actor,
                            kind=EventKind.CREATED.value, detail={"status": record.status}))
    session.commit()
    session.refresh(record)
    return record


def get_ticket(session: Session, *, ticket_id: str) -> TicketRecord | None:
    """One ticket by id."""
    return session.get(TicketRecord, ticket_id)


def update_ticket(session: Session, *, record: TicketRecord, **changes: Any) -> TicketRecord:
    """Apply ``changes`` only if nobody changed the ticket since ``record`` was read.

    Raises:
        StaleTicket: the row's version moved on; nothing was written.
    """
    table = TicketRecord.__table__  # type: ignore[attr-defined]
    result = session.execute(
        update(table)
        .where(table.c.ticket_id == record.ticket_id, table.c.version == record.version)
        .values(**changes, version=record.version + 1)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise StaleTicket(f"ticket {record.ticket_id} changed meanwhile; reload and retry")
    session.commit()
    session.expire_all()
    fresh = session.get(TicketRecord, record.ticket_id)
    assert fresh is not None
    return fresh


def add_event(
    session: Session, *, ticket_id: str, actor: str, kind: EventKind, detail: dict[str, Any]
) -> None:
    """Append one history step (committed)."""
    session.add(TicketEvent(ticket_id=ticket_id, ts=now_iso(), actor=actor, kind=kind.value,
                            detail=detail))
    session.commit()


def add_approval(
    session: Session, *, ticket_id: str, approver: str, role: Role, digest: str, comment: str
) -> None:
    """Record one approval of the action with ``digest`` (committed)."""
    session.add(TicketApproval(ticket_id=ticket_id, approver=approver, role=role.value,
                               digest=digest, ts=now_iso(), comment=comment))
    session.commit()


def approvals_of(session: Session, *, ticket_id: str) -> list[Approval]:
    """Every approval recorded for a ticket, oldest first, of any version of its action."""
    rows = session.exec(select(TicketApproval).where(TicketApproval.ticket_id == ticket_id)
                        .order_by(col(TicketApproval.id)))
    return [Approval(approver=r.approver, role=Role(r.role), digest=r.digest) for r in rows]


def history_of(session: Session, *, ticket_id: str) -> list[HistoryEntry]:
    """A ticket's history, oldest first."""
    rows = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id)
                        .order_by(col(TicketEvent.id)))
    return [HistoryEntry(ts=r.ts, actor=r.actor, kind=r.kind, detail=r.detail) for r in rows]


def summarize(record: TicketRecord, now: datetime | None = None) -> TicketSummary:
    """The queue line of a ticket."""
    return TicketSummary(
        ticket_id=record.ticket_id,
        severity=Severity(record.severity),
        status=record.status,
        root_cause=RootCause(record.root_cause),
        risk_score=record.risk_score,
        confidence=record.confidence,
        sku=record.sku,
        location=record.location,
        summary=record.summary,
        action_type=ActionType(record.action["type"]),
        value_at_risk=record.value_at_risk,
        kind=TicketKind(record.kind),
        parent_ticket_id=record.parent_ticket_id,
        child_count=record.child_count,
        created_at=record.created_at,
        decided_at=record.decided_at,
        age_s=age_seconds(record.created_at, now),
    )


def contract_ticket(record: TicketRecord) -> Ticket:
    """The stored ticket as a ``tickets.jsonl`` line (CONTRACT.md section 5), as it stands now.

    The fields the agent added beyond the contract come back as they were triaged.
    """
    return Ticket.model_validate({
        **record.extra,
        "ticket_id": record.ticket_id, "txn_ids": record.txn_ids, "sku": record.sku,
        "location": record.location, "risk_score": record.risk_score,
        "severity": record.severity, "root_cause": record.root_cause,
        "confidence": record.confidence, "summary": record.summary,
        "explanation": record.explanation, "evidence": record.evidence,
        "action": record.action, "status": record.status,
        "value_at_risk": record.value_at_risk, "kind": record.kind,
        "parent_ticket_id": record.parent_ticket_id, "child_count": record.child_count,
    })


def ticket_sites(session: Session, *, sites: list[str] | None = None) -> list[str]:
    """The sites that have tickets, by name (only those of ``sites`` when given)."""
    query = select(TicketRecord.site).distinct()
    if sites is not None:
        query = query.where(col(TicketRecord.site).in_(sites))
    return sorted(session.exec(query).all())


def site_tickets(session: Session, *, site: str) -> list[TicketRecord]:
    """Every ticket of ``site``, oldest first."""
    return list(session.exec(select(TicketRecord).where(TicketRecord.site == site)
                             .order_by(col(TicketRecord.created_at),
                                       col(TicketRecord.ticket_id))).all())


def detail_of(session: Session, *, record: TicketRecord) -> TicketDetail:
    """Everything about a ticket: explanation, evidence, action, approvals and history."""
    return TicketDetail(
        **summarize(record).model_dump(),
        txn_ids=record.txn_ids,
        explanation=record.explanation,
        evidence=[EvidenceItem.model_validate(e) for e in record.evidence],
        action=Action.model_validate(record.action),
        proposed_action=Action.model_validate(record.proposed_action),
        action_digest=record.action_digest,
        edited_by=record.edited_by,
        decided_by=record.decided_by,
        decision_reason=record.decision_reason,
        approvals=approvals_of(session, ticket_id=record.ticket_id),
        write_back=WriteBackInfo(
            status=record.write_back_status,
            idempotency_key=record.write_back_key,
            wms_reference=record.wms_reference,
            detail=record.write_back_detail,
            attempts=record.write_back_attempts,
        ),
        history=history_of(session, ticket_id=record.ticket_id),
        extra=record.extra,
    )


class TicketSort(StrEnum):
    """Orders the queue can be listed in."""

    QUEUE = "queue"
    """STOP first, then most money at risk, then riskiest, then oldest."""
    RISK = "risk"
    VALUE = "value"
    NEWEST = "newest"
    OLDEST = "oldest"


class TicketQuery(BaseModel):
    """Filters, order and page of a ticket listing (all optional)."""

    site: str | None = Field(default=None, max_length=64, description="one site's tickets")

    status: list[TicketStatus] | None = Field(default=None, description="any of these statuses")
    severity: list[Severity] | None = Field(default=None, description="any of these severities")
    root_cause: list[RootCause] | None = Field(default=None, description="any of these causes")
    sku: str | None = Field(default=None, max_length=128)
    location: str | None = Field(default=None, max_length=128)
    kind: TicketKind | None = Field(default=None, description="incident or systemic only")
    parent_ticket_id: str | None = Field(
        default=None, max_length=128, description="the occurrences of this systemic ticket")
    top_level: bool = Field(default=False,
                            description="leave out occurrences that belong to a systemic ticket")
    min_age_h: float | None = Field(default=None, ge=0, le=1e6, description="at least this old")
    max_age_h: float | None = Field(default=None, ge=0, le=1e6, description="at most this old")
    sort: TicketSort = TicketSort.QUEUE
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=10_000_000)


def list_tickets(
    session: Session, *, query: TicketQuery, now: datetime | None = None,
    sites: list[str] | None = None,
) -> tuple[int, list[TicketRecord]]:
    """One page of tickets matching ``query`` and how many match in all.

    ``sites`` (None: all) are the sites the caller may see; tickets of others never list.
    """
    now = now or datetime.now(UTC)
    where: list[ColumnElement[bool]] = []
    if sites is not None:
        where.append(col(TicketRecord.site).in_(sites))
    if query.site is not None:
        where.append(col(TicketRecord.site) == query.site)
    if query.status:
        where.append(col(TicketRecord.status).in_([s.value for s in query.status]))
    if query.severity:
        where.append(col(TicketRecord.severity).in_([s.value for s in query.severity]))
    if query.root_cause:
        where.append(col(TicketRecord.root_cause).in_([c.value for c in query.root_cause]))
    if query.sku is not None:
        where.append(col(TicketRecord.sku) == query.sku)
    if query.location is not None:
        where.append(col(TicketRecord.location) == query.location)
    if query.kind is not None:
        where.append(col(TicketRecord.kind) == query.kind.value)
    if query.parent_ticket_id is not None:
        where.append(col(TicketRecord.parent_ticket_id) == query.parent_ticket_id)
    if query.top_level:
        where.append(col(TicketRecord.parent_ticket_id).is_(None))
    if query.min_age_h is not None:
        oldest_allowed = (now - timedelta(hours=query.min_age_h)).isoformat(timespec="microseconds")
        where.append(col(TicketRecord.created_at) <= oldest_allowed)
    if query.max_age_h is not None:
        newest_allowed = (now - timedelta(hours=query.max_age_h)).isoformat(timespec="microseconds")
        where.append(col(TicketRecord.created_at) >= newest_allowed)
    orders: dict[TicketSort, list[Any]] = {
        TicketSort.QUEUE: [col(TicketRecord.severity_rank), col(TicketRecord.value_at_risk).desc(),
                           col(TicketRecord.risk_score).desc(), col(TicketRecord.created_at)],
        TicketSort.RISK: [col(TicketRecord.risk_score).desc(), col(TicketRecord.created_at)],
        TicketSort.VALUE: [col(TicketRecord.value_at_risk).desc(), col(TicketRecord.created_at)],
        TicketSort.NEWEST: [col(TicketRecord.created_at).desc()],
        TicketSort.OLDEST: [col(TicketRecord.created_at)],
    }
    order = orders[query.sort]
    total = session.exec(select(func.count()).select_from(TicketRecord).where(*where)).one()
    rows = session.exec(select(TicketRecord).where(*where)
                        .order_by(*order, col(TicketRecord.ticket_id))
                        .offset(query.offset).limit(query.limit)).all()
    return total, list(rows)
