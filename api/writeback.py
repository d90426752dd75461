"""Landing an approved action in the WMS exactly once, and recording how it went.

The decision flow hands a decided ticket here. When the agent graph holds the ticket's
thread (paused at its approval interrupt), the decision resumes it with
``Command(resume=decision)`` under ``thread_id`` = ticket id and the graph's write-back node
calls the WMS; otherwise (tickets stored without a graph thread, retries of a failed
write-back) the WMS adapter is called directly. Either way the idempotency key is
:func:`warehouse.canonical.write_back_key` of the ticket and its approved action, so a retry
after a timeout or a lost answer never applies the action twice. The key and the attempt
count are written to the ticket before the WMS is called, so a crash mid-call leaves the
ticket APPROVED with its key, ready for a retry under the same key.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import Command
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.auth import Role
from api.recounts import awaiting_count
from api.tickets import EventKind, TicketRecord, add_event, update_ticket
from warehouse.audit import AuditKind, AuditLog
from warehouse.canonical import write_back_key
from warehouse.contract import Action, TicketStatus
from warehouse.wms import WmsAdapter, WriteBackResult, WriteBackStatus

LANDED = frozenset({WriteBackStatus.APPLIED, WriteBackStatus.ALREADY_APPLIED})


class Decision(BaseModel):
    """What a decision resumes the graph with (``Command(resume=decision)``).

    The first four fields are :class:`agents.state.Decision`'s; the graph ignores the rest.
    An action edited in the service before its approval resumes as an ``edit``, so the graph
    writes the approved payload rather than its own draft.
    """

    decision: str = Field(description="approve, reject or edit")
    approver: str = Field(description="who decided (the last approver)")
    action: Action = Field(description="the exact action decided on")
    comment: str = ""
    ticket_id: str
    role: Role
    action_digest: str
    approvers: list[str] = Field(default_factory=list)


def correlation_of(record: TicketRecord) -> str:
    """The correlation id audit records of a ticket carry: its first transaction."""
    return record.txn_ids[0] if record.txn_ids else record.ticket_id


def graph_thread_waiting(graph: Any, ticket_id: str) -> bool:
    """Whether ``graph`` has a checkpointed thread for the ticket paused at an interrupt."""
    if graph is None:
        return False
    snapshot = graph.get_state({"configurable": {"thread_id": ticket_id}})
    return bool(snapshot.next)


def resume_graph(graph: Any, decision: Decision) -> WriteBackResult | None:
    """Resume the ticket's paused thread with the decision; the write-back it made, if any."""
    out = graph.invoke(
        Command(resume=decision.model_dump(mode="json")),
        {"configurable": {"thread_id": decision.ticket_id}},
        version="v2",
    )
    value = out.value
    found = value.get("write_back") if isinstance(value, dict) else getattr(value, "write_back",
                                                                            None)
    return WriteBackResult.model_validate(found) if found is not None else None


class WriteBackRunner:
    """Carries a decided ticket through the graph or the WMS adapter and records the outcome."""

    def __init__(self, *, wms: WmsAdapter | None, graph: Any, audit: AuditLog) -> None:
        self.wms = wms
        self.graph = graph
        self.audit = audit

    def reject(self, *, record: TicketRecord, decision: Decision) -> None:
        """Let a paused graph thread finish with a rejection (it writes nothing)."""
        if graph_thread_waiting(self.graph, record.ticket_id):
            resume_graph(self.graph, decision)

    def write_back(
        self, session: Session, *, record: TicketRecord, decision: Decision, actor: str
    ) -> TicketRecord:
        """Apply the approved action once; the ticket ends WRITTEN_BACK or WRITE_BACK_FAILED."""
        action = Action.model_validate(record.action)
        key = write_back_key(record.ticket_id, action)
        record = update_ticket(session, record=record, write_back_key=key,
                               write_back_attempts=record.write_back_attempts + 1)
        result = None
        if graph_thread_waiting(self.graph, record.ticket_id):
            result = resume_graph(self.graph, decision)
        if result is None:
            result = self._apply(action, key)
        landed = result.status in LANDED
        status = TicketStatus.WRITTEN_BACK if landed else TicketStatus.WRITE_BACK_FAILED
        if landed and awaiting_count(self.graph, record.ticket_id):
            status = TicketStatus.AWAITING_COUNT  # a blind count task is out: wait for it
        record = update_ticket(
            session,
            record=record,
            status=status.value,
            write_back_status=result.status.value,
            wms_reference=result.wms_reference,
            write_back_detail=result.detail,
        )
        facts = {
            "ticket_id": record.ticket_id,
            "idempotency_key": key,
            "status": result.status.value,
            "wms_reference": result.wms_reference,
            "detail": result.detail,
            "attempt": record.write_back_attempts,
            "action": record.action,
        }
        add_event(session, ticket_id=record.ticket_id, actor=actor, kind=EventKind.WRITE_BACK,
                  detail=facts)
        self.audit.append(AuditKind.WRITE_BACK, facts, correlation_id=correlation_of(record))
        return record

    def _apply(self, action: Action, key: str) -> WriteBackResult:
        if self.wms is None:
            return WriteBackResult(status=WriteBackStatus.FAILED, idempotency_key=key,
                                   detail="no WMS configured (set TALLY_WMS_URL); retry later")
        return self.wms.apply(action, idempotency_key=key)
