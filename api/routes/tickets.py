"""``GET /v1/tickets`` (the queue) and ``GET /v1/tickets/{id}`` (one ticket in full)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.deps import CurrentUser, SessionDep
from api.errors import NotFound
from api.tickets import (
    TicketDetail,
    TicketQuery,
    TicketRecord,
    TicketSummary,
    detail_of,
    get_ticket,
    list_tickets,
    summarize,
)

router = APIRouter(prefix="/v1/tickets", tags=["tickets"])
TicketId = Annotated[str, Path(min_length=1, max_length=128, description="ticket id")]


class TicketPage(BaseModel):
    """One page of the ticket queue."""

    total: int
    limit: int
    offset: int
    items: list[TicketSummary]


def load_ticket(session: SessionDep, ticket_id: str) -> TicketRecord:
    """The ticket with ``ticket_id``.

    Raises:
        NotFound: no such ticket.
    """
    record = get_ticket(session, ticket_id=ticket_id)
    if record is None:
        raise NotFound(f"no ticket {ticket_id!r}")
    return record


@router.get("", response_model=TicketPage)
def list_route(
    _: CurrentUser, session: SessionDep, query: Annotated[TicketQuery, Query()]
) -> TicketPage:
    """The ticket queue: STOP first, then by money at risk, then risk (``sort`` to change).

    Systemic tickets carry their ``child_count``; ``top_level`` leaves their occurrences
    out, ``parent_ticket_id`` lists them. Filters combine.
    """
    total, rows = list_tickets(session, query=query)
    return TicketPage(total=total, limit=query.limit, offset=query.offset,
                      items=[summarize(r) for r in rows])


@router.get("/{ticket_id}", response_model=TicketDetail)
def get_route(_: CurrentUser, session: SessionDep, ticket_id: TicketId) -> TicketDetail:
    """One ticket: explanation, evidence, action (current and proposed), approvals, history."""
    return detail_of(session, record=load_ticket(session, ticket_id))
