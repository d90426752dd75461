"""Recounts in the service: tickets waiting for a blind count, and the count that answers one.

An approved RECOUNT is written back (the WMS opens a blind count task) and its graph thread
pauses at ``await_count``; the ticket is AWAITING_COUNT. Any CYCLE_COUNT event for that SKU
at one of the recounted locations (``POST /v1/transactions``, the queue, or the UI's count
form, ``POST /v1/recounts/{ticket_id}/count``) resumes the thread with the count and the
system quantity at that moment; the graph re-classifies and proposes the follow-up, and the
ticket is PENDING_APPROVAL again with the new action (earlier approvals were of the recount's
digest and do not carry over). A count that has not arrived ``TALLY_RECOUNT_ESCALATE_H``
hours after the write-back escalates the ticket to STOP, once, on the audit chain; it keeps
waiting for the count.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from langgraph.types import Command
from sqlalchemy import text
from sqlmodel import Session, select

from actions.audit import AuditKind, AuditLog
from agents.recount import CountResult
from api.tickets import EventKind, TicketRecord, add_event, now_iso, update_ticket
from warehouse.canonical import action_digest
from warehouse.contract import Severity, Ticket, TicketStatus, TxnType
from warehouse.sites import DEFAULT_SITE


def store_balance(engine: Any, sku: str, location: str, site: str = DEFAULT_SITE) -> float:
    """The store's perpetual balance of ``sku`` at ``location`` in eaches (0 when none)."""
    with engine.connect() as conn:
        qty = conn.execute(text("SELECT qty FROM balances WHERE site = :site AND sku = :s "
                                "AND location = :l"),
                           {"s": sku, "l": location, "site": site}).scalar()
    return float(qty or 0.0)


def count_eaches(engine: Any, event: Mapping[str, Any], site: str = DEFAULT_SITE) -> float:
    """A CYCLE_COUNT's counted quantity in eaches (cases times the item's case quantity)."""
    qty = float(event["qty"])
    if str(event.get("uom") or "EA") != "CS":
        return qty
    with engine.connect() as conn:
        case = conn.execute(text("SELECT case_qty FROM items WHERE site = :site AND sku = :s"),
                            {"s": event["sku"], "site": site}).scalar()
    return qty * float(case or 1)


def awaiting_count(graph: Any, ticket_id: str) -> bool:
    """Whether the ticket's graph thread is paused at ``await_count``."""
    if graph is None:
        return False
    return "await_count" in graph.get_state({"configurable": {"thread_id": ticket_id}}).next


class Recounts:
    """Matches counts to waiting recounts and resumes their graphs.

    Args:
        engine: the database holding tickets and the store.
        audit: the audit chain.
        graph: returns the compiled graph on the service's checkpointer.
        escalate_h: hours after which a missing count escalates.
        site: the site whose counts arrive here (only its tickets are resumed).
    """

    def __init__(self, *, engine: Any, audit: AuditLog, graph: Callable[[], Any],
                 escalate_h: float, site: str = DEFAULT_SITE) -> None:
        self.engine = engine
        self.site = site
        self.audit = audit
        self.graph = graph
        self.escalate_h = escalate_h
        self._lock = threading.Lock()

    def waiting(self, session: Session) -> list[TicketRecord]:
        """The site's tickets whose recount waits for its count."""
        return list(session.exec(select(TicketRecord).where(
            TicketRecord.site == self.site,
            TicketRecord.status == TicketStatus.AWAITING_COUNT.value)).all())

    def counts_arrived(self, events: Iterable[Mapping[str, Any]]) -> list[TicketRecord]:
        """Resume every waiting recount that one of these CYCLE_COUNT events answers."""
        counts = [e for e in events if str(e.get("type")) == TxnType.CYCLE_COUNT.value]
        if not counts:
            return []
        resumed = []
        with self._lock, Session(self.engine, expire_on_commit=False) as session:
            for record in self.waiting(session):
                params = record.action.get("params", {})
                sku = params.get("sku") or record.sku
                event = next((e for e in counts if e["sku"] == sku
                              and e["location"] in params.get("locations", [])), None)
                if event is not None:
                    resumed.append(self._resume(session, record, event,
                                                count_eaches(self.engine, event,
                                                             self.site)))
        return resumed

    def _resume(self, session: Session, record: TicketRecord, event: Mapping[str, Any],
                counted: float) -> TicketRecord:
        count = CountResult(txn_id=str(event["txn_id"]), sku=str(event["sku"]),
                            location=str(event["location"]), counted_qty=counted,
                            system_qty=store_balance(self.engine, str(event["sku"]),
                                                     str(event["location"]), self.site),
                            counted_by=event.get("user_id"), ts=event.get("ts"))
        out = self.graph().invoke(Command(resume=count.model_dump(mode="json")),
                                  {"configurable": {"thread_id": record.ticket_id}},
                                  version="v2")
        if not out.interrupts or "ticket" not in out.interrupts[0].value:
            return record  # the count did not answer this recount; it keeps waiting
        ticket = Ticket.model_validate(out.interrupts[0].value["ticket"])
        action = ticket.action.model_dump(mode="json")
        known = set(Ticket.model_fields)
        record = update_ticket(
            session, record=record, status=TicketStatus.PENDING_APPROVAL.value,
            root_cause=ticket.root_cause.value, confidence=ticket.confidence,
            summary=ticket.summary, explanation=ticket.explanation,
            evidence=[e.model_dump(mode="json") for e in ticket.evidence], action=action,
            proposed_action=action, action_digest=action_digest(ticket.action),
            edited_by=None, decided_at=None, decided_by=None,
            extra={**record.extra, **{k: v for k, v in ticket.model_dump(mode="json").items()
                                      if k not in known}})
        facts = {"ticket_id": record.ticket_id, "count": count.model_dump(mode="json"),
                 "variance": count.variance, "follow_up": action}
        add_event(session, ticket_id=record.ticket_id, actor=count.counted_by or "wms",
                  kind=EventKind.COUNT_RECEIVED, detail=facts)
        self.audit.append(AuditKind.TICKET, {"event": "count_received", **facts},
                          correlation_id=record.txn_ids[0] if record.txn_ids else None)
        return record

    def escalate_overdue(self, now: datetime | None = None) -> list[TicketRecord]:
        """Escalate (once) every recount whose count is overdue."""
        now = now or datetime.now(UTC)
        cutoff = (now - timedelta(hours=self.escalate_h)).isoformat(timespec="microseconds")
        out = []
        with self._lock, Session(self.engine, expire_on_commit=False) as session:
            for record in self.waiting(session):
                since = record.decided_at or record.created_at
                if record.extra.get("count_overdue_at") or since > cutoff:
                    continue
                record = update_ticket(session, record=record, severity=Severity.STOP.value,
                                       severity_rank=Severity.STOP.rank,
                                       extra={**record.extra, "count_overdue_at": now_iso()})
                facts = {"ticket_id": record.ticket_id, "waiting_since": since,
                         "escalate_after_h": self.escalate_h}
                add_event(session, ticket_id=record.ticket_id, actor="tally",
                          kind=EventKind.ESCALATED, detail=facts)
                self.audit.append(AuditKind.TICKET, {"event": "count_overdue", **facts},
                                  correlation_id=record.txn_ids[0] if record.txn_ids else None)
                out.append(record)
        return out
