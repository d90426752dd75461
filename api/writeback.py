"""Carrying approved write-backs from the outbox to the WMS, and recording how they went.

A complete approval commits its outbox row (:mod:`actions.outbox`) with the ticket's
APPROVED status; :class:`WriteBackRunner` then runs it, in the approving request right
after the commit and, for rows whose process died, in a background worker that also runs
once on start (so a kill -9 mid-write resumes by itself). Running a row:

1. under the ticket's lock: the ticket must still be APPROVED with the row's digest and the
   decision's approvers on record for that digest; the idempotency key and attempt count
   are written to the ticket before the WMS is called;
2. the write goes through :func:`actions.write_back.write_back` alone: by resuming the
   ticket's paused graph thread with the decision (its ``write_back`` node calls that
   function), or directly when no graph thread waits (tickets stored without one, retries).
   A resumed thread that asks for approval again has refused the decision: that is a
   FAILED write-back, never a direct write;
3. under the lock again: the ticket becomes WRITTEN_BACK (the WMS answered APPLIED or
   ALREADY_APPLIED; AWAITING_COUNT for a landed RECOUNT whose graph waits for the count)
   or WRITE_BACK_FAILED, with its history step, its audit record and the
   row marked done, in one transaction; then the audit head is anchored.

A count plan's tasks use the same outbox (their ``ticket_id`` is the task's ref); their
rows are run by :func:`api.count_plans.run_task`.
"""

from __future__ import annotations

import logging
from typing import Any

from langgraph.types import Command
from sqlalchemy import Engine
from sqlmodel import Session

from actions.audit import AuditKind, AuditLog
from actions.decision import Decision
from actions.outbox import Outbox, OutboxItem
from actions.wms import WmsAdapter, WriteBackResult, WriteBackStatus
from actions.write_back import LANDED, NotApproved, write_back
from api.background import BackgroundLoop
from api.count_plans import is_task_ref, run_task
from api.recounts import awaiting_count
from api.ticket_lock import bump, lock_ticket
from api.tickets import EventKind, TicketEvent, TicketRecord, approvals_of, now_iso
from warehouse.canonical import write_back_key
from warehouse.contract import Action, TicketStatus

log = logging.getLogger(__name__)


def correlation_of(record: TicketRecord) -> str:
    """The correlation id audit records of a ticket carry: its first transaction."""
    return record.txn_ids[0] if record.txn_ids else record.ticket_id


class WriteBackRunner:
    """Runs queued write-backs once each and records the outcome on the ticket.

    Args:
        engine: the store's database (tickets and outbox).
        wms: the adapter; None answers FAILED ("no WMS configured").
        graph: the compiled triage graph whose paused threads decisions resume, if any.
        audit: the audit log.
        lease_s: see :class:`actions.outbox.Outbox`.
    """

    def __init__(self, *, engine: Engine, wms: WmsAdapter | None, graph: Any, audit: AuditLog,
                 lease_s: float = 120.0) -> None:
        self.engine = engine
        self.wms = wms
        self.graph = graph
        self.audit = audit
        self.outbox = Outbox(engine, lease_s=lease_s)
        self._loop = BackgroundLoop("tally-write-back", lambda: self.drain() > 0,
                                    "write-back worker error")

    def reject(self, ticket_id: str, decision: Decision) -> None:
        """Let a paused graph thread finish with a rejection (it writes nothing)."""
        if self.graph is None:
            return
        config = {"configurable": {"thread_id": ticket_id}}
        if self.graph.get_state(config).next == ("await_approval",):
            self.graph.invoke(Command(resume=decision.model_dump(mode="json")), config,
                              version="v2")

    def run(self, item_id: int) -> bool:
        """Run one outbox row now if this process may take it; whether it ran here."""
        item = self.outbox.claim(item_id)
        if item is None:
            return False
        self._execute(item)
        return True

    def drain(self, limit: int = 1000) -> int:
        """Run every row that is free to take (pending, or its claimer gone); how many ran."""
        done = 0
        while done < limit and (item := self.outbox.claim()) is not None:
            self._execute(item)
            done += 1
        return done

    def start(self, poll_s: float = 1.0) -> None:
        """Drain now (rows a crashed process left), then keep draining on a daemon thread."""
        self._loop.start(poll_s)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background thread after its current write-back."""
        self._loop.stop(timeout)

    def _execute(self, item: OutboxItem) -> None:
        try:
            if is_task_ref(item.ticket_id):  # a count plan's task, not a ticket's action
                run_task(self.engine, item, wms=self.wms, audit=self.audit, outbox=self.outbox)
                return
            prepared = self._prepare(item)
            if prepared is None:
                return
            result = self._write(prepared, item.decision)
            self._record(item, result)
        except Exception:
            self.outbox.release(item)
            raise

    def _prepare(self, item: OutboxItem) -> TicketRecord | None:
        """Re-check the ticket under its lock and write the key before the WMS call."""
        with Session(self.engine, expire_on_commit=False) as session:
            record = lock_ticket(session, item.ticket_id)
            problem = _not_writable(session, record, item)
            if problem is not None:
                log.warning("write-back %s of %s refused: %s", item.id, item.ticket_id, problem)
                self.outbox.finish(session.connection(), item, "REFUSED")
                session.commit()
                return None
            assert record is not None
            key = write_back_key(record.ticket_id, Action.model_validate(record.action))
            bump(record, write_back_key=key, write_back_attempts=record.write_back_attempts + 1)
            session.add(record)
            session.commit()
            return record

    def _write(self, record: TicketRecord, decision: Decision) -> WriteBackResult:
        """The WMS answer, through the paused graph thread or the one write-back function."""
        action = Action.model_validate(record.action)
        through_graph = self._through_graph(record.ticket_id, decision)
        if through_graph is not None:
            return through_graph
        try:
            return write_back(ticket_id=record.ticket_id, action=action, decision=decision,
                              wms=self.wms)
        except NotApproved as refused:
            return WriteBackResult(status=WriteBackStatus.FAILED,
                                   idempotency_key=write_back_key(record.ticket_id, action),
                                   detail=f"refused: {refused}")

    def _through_graph(self, ticket_id: str, decision: Decision) -> WriteBackResult | None:
        """Resume the ticket's graph thread if one waits; None when none does."""
        if self.graph is None:
            return None
        config = {"configurable": {"thread_id": ticket_id}}
        waiting = self.graph.get_state(config).next
        if waiting == ("await_approval",):
            self.graph.invoke(Command(resume=decision.model_dump(mode="json")), config,
                              version="v2")
        elif waiting == ("write_back",):  # a crash between approval and write: carry on
            self.graph.invoke(None, config, version="v2")
        else:
            return None
        after = self.graph.get_state(config)
        key = write_back_key(ticket_id, decision.action) if decision.action else "-"
        values = after.values if isinstance(after.values, dict) else {}
        if "await_approval" in after.next:
            error = values.get("approval_error")
            return WriteBackResult(status=WriteBackStatus.FAILED, idempotency_key=key,
                                   detail=f"refused by the graph: {error or 'asked again'}")
        found = values.get("write_back")
        if found is None:
            return WriteBackResult(status=WriteBackStatus.FAILED, idempotency_key=key,
                                   detail="the graph finished without a write-back")
        return WriteBackResult.model_validate(found)

    def _record(self, item: OutboxItem, result: WriteBackResult) -> None:
        """The outcome on the ticket, its history and the audit chain: one transaction."""
        landed = result.status in LANDED
        with Session(self.engine, expire_on_commit=False) as session:
            record = lock_ticket(session, item.ticket_id)
            assert record is not None
            status = TicketStatus.WRITTEN_BACK if landed else TicketStatus.WRITE_BACK_FAILED
            if landed and awaiting_count(self.graph, record.ticket_id):
                status = TicketStatus.AWAITING_COUNT  # a blind count task is out: wait for it
            bump(record, status=status.value, write_back_status=result.status.value,
                 wms_reference=result.wms_reference, write_back_detail=result.detail)
            session.add(record)
            facts = {"ticket_id": record.ticket_id, "idempotency_key": record.write_back_key,
                     "status": result.status.value, "wms_reference": result.wms_reference,
                     "detail": result.detail, "attempt": record.write_back_attempts,
                     "action": record.action, "action_digest": item.digest,
                     "approvers": item.decision.approvers}
            session.add(TicketEvent(ticket_id=record.ticket_id, ts=now_iso(), actor="tally",
                                    kind=EventKind.WRITE_BACK.value, detail=facts))
            self.audit.append(AuditKind.WRITE_BACK, facts, correlation_id=correlation_of(record),
                              conn=session.connection())
            self.outbox.finish(session.connection(), item, status.value)
            session.commit()
        self.audit.anchor_head()


def _not_writable(session: Session, record: TicketRecord | None, item: OutboxItem) -> str | None:
    """Why a queued write-back may not run against the ticket as it is now; None if it may."""
    if record is None:
        return "no such ticket"
    if record.status != TicketStatus.APPROVED.value:
        return f"the ticket is {record.status}, not APPROVED"
    if record.action_digest != item.digest or item.decision.action_digest != item.digest:
        return "the ticket's action is not the approved one"
    approved = {a.approver for a in approvals_of(session, ticket_id=record.ticket_id)
                if a.digest == item.digest}
    if not item.decision.approvers or not set(item.decision.approvers) <= approved:
        return "the decision's approvers are not on record for this action"
    return None
