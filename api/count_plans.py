"""The day's count plan as the service keeps it: one approval, one blind RECOUNT per line.

A supervisor reviews the plan (``GET /v1/count-plan`` shows it with its ``plan_digest``)
and approves it once: the approval names the digest it reviewed, so a plan that changed
since (new events moved the ranking) is refused, as ticket approvals are. The approval is
one audit record (kind DECISION) for the whole batch; each line then becomes a RECOUNT
action (``blind``: the counter is not shown the system quantity) with its own idempotency
key. The approval, its tasks and one write-back outbox row per task (:mod:`actions.outbox`,
keyed by the task's ref ``<plan_id>:<rank>``) commit in one transaction, and the tasks go
to the WMS the way approved ticket actions do: the approving request runs its rows, and the
write-back worker (:class:`api.writeback.WriteBackRunner`, which hands task rows to
:func:`run_task`) takes over the rows of a process that died, on start and while it runs;
each write goes through :func:`actions.write_back.write_back` under the task's key, so a
task lands once across retries and restarts. Approving the same plan again changes nothing
and retries only the tasks that did not land (a failed one in the next outbox round).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, Protocol

import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy import Column, Engine, Text
from sqlmodel import Field as SqlField
from sqlmodel import Session, SQLModel, col, select

from actions.audit import AuditKind, AuditLog
from actions.decision import Decision
from actions.outbox import Outbox, OutboxItem, enqueue
from actions.wms import WmsAdapter, WriteBackResult, WriteBackStatus
from actions.write_back import LANDED, NotApproved, write_back
from api.auth import Principal
from api.errors import ApiError, Conflict
from warehouse.canonical import action_digest, canonical_json, sha256_hex, write_back_key
from warehouse.contract import Action, ActionType
from warehouse.sites import DEFAULT_SITE, site_column

TASK_PENDING = "PENDING"
TASK_WRITTEN = "WRITTEN_BACK"
TASK_FAILED = "WRITE_BACK_FAILED"


class CountPlanRecord(SQLModel, table=True):
    """An approved count plan (one per digest)."""

    __tablename__ = "count_plan"

    site: str = SqlField(default=DEFAULT_SITE, sa_column=site_column(index=True))
    plan_id: str = SqlField(primary_key=True, max_length=40)
    digest: str = SqlField(max_length=64, unique=True)
    top: int
    approved_by: str = SqlField(max_length=64)
    approved_at: str = SqlField(max_length=40)
    comment: str = SqlField(default="", sa_column=Column(Text, nullable=False))
    lines: str = SqlField(sa_column=Column(Text, nullable=False),
                          description="the plan's lines as JSON, as approved")


class CountTaskRecord(SQLModel, table=True):
    """One blind RECOUNT task of an approved plan and how its write-back went."""

    __tablename__ = "count_task"

    id: int | None = SqlField(default=None, primary_key=True)
    plan_id: str = SqlField(foreign_key="count_plan.plan_id", index=True, max_length=40)
    rank: int
    location: str = SqlField(max_length=128)
    sku: str | None = SqlField(default=None, max_length=128)
    idempotency_key: str = SqlField(max_length=200, unique=True)
    status: str = SqlField(default=TASK_PENDING, max_length=32)
    attempts: int = 0
    wms_reference: str | None = SqlField(default=None, max_length=64)
    detail: str | None = SqlField(default=None, sa_column=Column(Text))


class PlanLine(BaseModel):
    """One location of the plan."""

    rank: int = Field(ge=1)
    location: str
    sku: str | None = Field(default=None, description="the SKU in doubt; None: the whole bin")
    score: float = Field(ge=0, le=1, description="probability that a record here is wrong")
    expected_error_value: float = Field(ge=0, description="expected money in error")
    reasons: list[str]
    location_type: str
    last_count_ts: str | None = None


class CountPlanOut(BaseModel):
    """The plan a supervisor reviews; approve it by its ``plan_digest``."""

    plan_digest: str = Field(description="sha256 of the ranked (location, sku) lines")
    top: int
    lines: list[PlanLine]


class ApprovePlanIn(BaseModel):
    """The supervisor's one decision on a whole plan."""

    top: int = Field(ge=1, le=1000, description="the plan size that was reviewed")
    plan_digest: str = Field(pattern="^[0-9a-f]{64}$",
                             description="the plan_digest of the reviewed plan")
    comment: str = Field(default="", max_length=2000)


class TaskOut(BaseModel):
    """Where one task stands."""

    rank: int
    location: str
    sku: str | None
    status: str
    idempotency_key: str
    wms_reference: str | None = None
    detail: str | None = None


class ApprovedPlanOut(BaseModel):
    """An approved plan and its tasks."""

    plan_id: str
    plan_digest: str
    approved_by: str
    approved_at: str
    tasks: list[TaskOut]


class StalePlan(Conflict):
    """The plan changed since it was reviewed (409)."""


class NoPlan(ApiError):
    """The store holds nothing to plan from (422)."""

    status_code = 422


def plan_out(plan: pd.DataFrame, top: int) -> CountPlanOut:
    """A :func:`scoring.count_plan.count_plan` frame as the API's plan."""
    lines = [PlanLine(rank=int(r["rank"]), location=str(r["location"]),
                      sku=str(r["sku"]) or None, score=float(r["score"]),
                      expected_error_value=float(r["expected_error_value"]),
                      reasons=[x for x in str(r["reasons"]).split("; ") if x],
                      location_type=str(r["location_type"]),
                      last_count_ts=str(r["last_count_ts"]) or None)
             for r in plan.to_dict("records")]
    return CountPlanOut(plan_digest=plan_digest(lines), top=top, lines=lines)


def plan_digest(lines: list[PlanLine]) -> str:
    """What an approval binds to: the ranked (location, sku) lines."""
    return sha256_hex(canonical_json([[x.rank, x.location, x.sku] for x in lines]))


def recount_action(line: PlanLine | CountTaskRecord) -> Action:
    """The blind RECOUNT of one plan line."""
    params: dict[str, Any] = {"locations": [line.location], "blind": True}
    if line.sku:
        params["sku"] = line.sku
    return Action(type=ActionType.RECOUNT, params=params)


def task_ref(plan_id: str, rank: int) -> str:
    """What a plan task is to the write path (a ticket id is to a ticket's action)."""
    return f"{plan_id}:{rank}"


TASK_REF = re.compile(r"^(CP-[0-9a-f]{16}):([0-9]+)$")
"""A plan task's ref (the outbox's ``ticket_id`` of its write-back)."""


def task_approval(*, ref: str, action: Action, approver: str) -> Decision:
    """The decision a plan task is written under: the plan's one approval, for this action.

    Each task's RECOUNT, derived from an approved plan line, goes out as an approval by the
    plan's approver bound to that action's digest, keyed as a ticket's action is
    (``write_back_key(ref, action)``), so a retry never lands a task twice.
    """
    return Decision(decision="approve", approver=approver, action=action,
                    action_digest=action_digest(action), ticket_id=ref, approvers=[approver])


def _task(session: Session, ref: str) -> CountTaskRecord | None:
    match = TASK_REF.match(ref)
    if match is None:
        return None
    return session.exec(select(CountTaskRecord).where(
        CountTaskRecord.plan_id == match[1], CountTaskRecord.rank == int(match[2]))).first()


def _queue(session: Session, task: CountTaskRecord, *, approver: str, round_: int) -> int:
    """Queue a task's write-back inside the session's transaction; the outbox row id."""
    ref = task_ref(task.plan_id, task.rank)
    return enqueue(session.connection(), round_=round_, decision=task_approval(
        ref=ref, action=recount_action(task), approver=approver))


class RowRunner(Protocol):
    """What runs outbox rows (:class:`api.writeback.WriteBackRunner`)."""

    outbox: Outbox

    def run(self, item_id: int) -> bool:
        """Run one outbox row now if this process may take it."""
        ...


def approve_plan(session: Session, *, plan: CountPlanOut, body: ApprovePlanIn, user: Principal,
                 audit: AuditLog, runner: RowRunner,
                 site: str = DEFAULT_SITE) -> ApprovedPlanOut:
    """Record the one approval of ``site``'s ``plan``, write its tasks; a repeat retries the rest.

    Raises:
        StalePlan: the plan's digest is not the one the approver reviewed.
    """
    if plan.plan_digest != body.plan_digest:
        raise StalePlan("the plan changed since it was reviewed (new events re-ranked it): "
                        "GET /v1/count-plan again and approve what you see")
    record = session.exec(select(CountPlanRecord).where(
        CountPlanRecord.digest == plan.plan_digest)).first()
    if record is None:
        record, queued = _record_approval(session, plan=plan, body=body, user=user,
                                          audit=audit, site=site)
    else:
        queued = _requeue_unlanded(session, record, runner.outbox)
    audit.anchor_head()
    for item_id in queued:
        runner.run(item_id)
    session.expire_all()
    tasks = list(session.exec(select(CountTaskRecord).where(
        CountTaskRecord.plan_id == record.plan_id).order_by(col(CountTaskRecord.rank))))
    return approved_out(record, tasks)


def _record_approval(session: Session, *, plan: CountPlanOut, body: ApprovePlanIn,
                     user: Principal, audit: AuditLog,
                     site: str) -> tuple[CountPlanRecord, list[int]]:
    """The plan, its tasks, their outbox rows and the audited decision: one transaction."""
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    plan_id = f"CP-{plan.plan_digest[:16]}"
    record = CountPlanRecord(site=site, plan_id=plan_id, digest=plan.plan_digest, top=plan.top,
                             approved_by=user.name, approved_at=now, comment=body.comment,
                             lines=json.dumps([x.model_dump(mode="json") for x in plan.lines]))
    session.add(record)
    tasks = []
    for line in plan.lines:
        action = recount_action(line)
        tasks.append(CountTaskRecord(plan_id=plan_id, rank=line.rank, location=line.location,
                                     sku=line.sku, idempotency_key=write_back_key(
                                         task_ref(plan_id, line.rank), action)))
    session.add_all(tasks)
    session.flush()
    queued = [_queue(session, t, approver=user.name, round_=1) for t in tasks]
    audit.append(AuditKind.DECISION, {
        "count_plan": plan_id, "site": site, "decision": "approve", "approver": user.name,
        "role": user.role.value, "plan_digest": plan.plan_digest, "tasks": len(plan.lines),
        "comment": body.comment,
    }, correlation_id=plan_id, conn=session.connection())
    session.commit()
    session.refresh(record)
    return record, queued


def _requeue_unlanded(session: Session, record: CountPlanRecord, outbox: Outbox) -> list[int]:
    """The outbox rows to run for tasks not landed: open ones, else the next round."""
    queued = []
    tasks = session.exec(select(CountTaskRecord).where(
        CountTaskRecord.plan_id == record.plan_id, CountTaskRecord.status != TASK_WRITTEN))
    for task in tasks:
        ref = task_ref(task.plan_id, task.rank)
        open_ids = outbox.open_ids(ref)
        queued += open_ids or [_queue(session, task, approver=record.approved_by,
                                      round_=outbox.rounds(ref) + 1)]
    session.commit()
    return queued


def is_task_ref(ref: str) -> bool:
    """Whether an outbox row's ``ticket_id`` is a plan task's ref."""
    return TASK_REF.match(ref) is not None


def run_task(engine: Engine, item: OutboxItem, *, wms: WmsAdapter | None, audit: AuditLog,
             outbox: Outbox) -> None:
    """Write one claimed plan-task row to the WMS and record how it went, once.

    The attempt is counted before the WMS is called; the task's outcome, its audit record
    and the row's end commit together.
    """
    with Session(engine, expire_on_commit=False) as session:
        task = _task(session, item.ticket_id)
        action = recount_action(task) if task is not None else None
        if task is None or task.status == TASK_WRITTEN or action is None \
                or action_digest(action) != item.digest:
            outbox.finish(session.connection(), item, "REFUSED")
            session.commit()
            return
        task.attempts += 1
        session.add(task)
        session.commit()
    try:
        result = write_back(ticket_id=item.ticket_id, action=action, decision=item.decision,
                            wms=wms)
    except NotApproved as refused:
        result = WriteBackResult(status=WriteBackStatus.FAILED,
                                 idempotency_key=task.idempotency_key,
                                 detail=f"refused: {refused}")
    with Session(engine, expire_on_commit=False) as session:
        task = session.get(CountTaskRecord, task.id)
        assert task is not None
        task.status = TASK_WRITTEN if result.status in LANDED else TASK_FAILED
        task.wms_reference = result.wms_reference
        task.detail = result.detail
        session.add(task)
        audit.append(AuditKind.WRITE_BACK, {
            "count_plan": task.plan_id, "rank": task.rank,
            "idempotency_key": task.idempotency_key, "status": result.status.value,
            "wms_reference": result.wms_reference, "attempt": task.attempts,
            "action": action.model_dump(mode="json"),
        }, correlation_id=task.plan_id, conn=session.connection())
        outbox.finish(session.connection(), item, task.status)
        session.commit()
    audit.anchor_head()


def approved_out(record: CountPlanRecord, tasks: list[CountTaskRecord]) -> ApprovedPlanOut:
    """An approved plan and its tasks as the API answers."""
    return ApprovedPlanOut(
        plan_id=record.plan_id, plan_digest=record.digest, approved_by=record.approved_by,
        approved_at=record.approved_at,
        tasks=[TaskOut(rank=t.rank, location=t.location, sku=t.sku, status=t.status,
                       idempotency_key=t.idempotency_key, wms_reference=t.wms_reference,
                       detail=t.detail) for t in tasks])
