"""Opening a ticket in the service: one incident through the durable graph into the queue.

The graph runs on the service's checkpointer with ``thread_id`` = incident id (the ticket
id) and pauses at its approval interrupt; the ticket it shows there is stored as
PENDING_APPROVAL (a NO_ACTION ticket ends without pausing and is stored as such). A later
decision resumes the same thread, even from another process after a restart.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from actions.audit import AuditKind, AuditLog
from agents.state import TicketState
from api.tickets import TicketRecord, get_ticket, save_ticket
from api.writeback import correlation_of
from scoring.types import Incident
from warehouse.contract import Ticket
from warehouse.sites import DEFAULT_SITE


def open_ticket(
    graph: Any,
    session: Session,
    *,
    incident: Incident,
    audit: AuditLog,
    unit_cost: float | None = None,
    site: str = DEFAULT_SITE,
) -> TicketRecord:
    """Triage ``incident`` through ``graph`` and store its ticket (once per incident).

    Args:
        graph: the compiled triage graph on the service's checkpointer.
        session: where the ticket is stored.
        incident: the scorer's incident; its id is the ticket and thread id.
        audit: where the new ticket is recorded.
        unit_cost: cost of one each of the incident's SKU, for the approval value limits.
        site: the site the incident's events came from (stored on the ticket).

    Returns:
        The stored ticket (the existing one when the incident was triaged before).
    """
    existing = get_ticket(session, ticket_id=incident.incident_id)
    if existing is not None:
        return existing
    config = {"configurable": {"thread_id": incident.incident_id}}
    paused = graph.get_state(config)
    if paused.next and paused.interrupts:  # paused before, but the ticket was never stored
        ticket = Ticket.model_validate(paused.interrupts[0].value["ticket"])
    else:
        out = graph.invoke(TicketState(ticket_id=incident.incident_id, incident=incident),
                           config, version="v2")
        if out.interrupts:
            ticket = Ticket.model_validate(out.interrupts[0].value["ticket"])
        else:
            ended = TicketState.model_validate(out.value).ticket
            assert ended is not None, "the graph ended without a ticket"
            ticket = ended
    record = save_ticket(session, ticket=ticket, unit_cost=unit_cost, actor="tally-agent",
                         site=site)
    audit.append(AuditKind.TICKET, ticket.model_dump(mode="json"),
                 correlation_id=correlation_of(record))
    return record
