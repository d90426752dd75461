"""``GET /v1/tickets`` (the queue) and ``GET /v1/tickets/{id}`` (one ticket in full)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from api.auth import Principal
from api.deps import CurrentUser, SessionDep
from api.errors import Forbidden, NotFound
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


def load_ticket(session: SessionDep, ticket_id: str, user: Principal) -> TicketRecord:
    """The ticket with ``ticket_id``, where ``user`` holds a role at its site.

    Raises:
        NotFound: no such ticket, or it belongs to a site the user cannot see (whether
            another site has such a ticket is not told).
    """
    record = get_ticket(session, ticket_id=ticket_id)
    if record is None or user.role_at(record.site) is None:
        raise NotFound(f"no ticket {ticket_id!r}")
    return record


def visible_sites(user: Principal, site: str | None) -> list[str] | None:
    """The sites a listing for ``user`` shows (None: all): ``site`` when one is asked for.

    Raises:
        Forbidden: ``user`` holds no role at ``site``.
    """
    if site is None:
        return user.visible_sites()
    if user.role_at(site) is None:
        raise Forbidden(f"{user.name} holds no role at site {site!r}")
    return [site]


@router.get("", response_model=TicketPage)
def list_route(
    user: CurrentUser, session: SessionDep, query: Annotated[TicketQuery, Query()]
) -> TicketPage:
    """The ticket queue: STOP first, then by money at risk, then risk (``sort`` to change).

    Systemic tickets carry their ``child_count``; ``top_level`` leaves their occurrences
    out, ``parent_ticket_id`` lists them. Filters combine. Only the sites the caller holds
    a role at are listed (``site`` for one of them; 403 for another).
    """
    total, rows = list_tickets(session, query=query,
                               sites=visible_sites(user, query.site))
    return TicketPage(total=total, limit=query.limit, offset=query.offset,
                      items=[summarize(r) for r in rows])


@router.get("/{ticket_id}", response_model=TicketDetail)
def get_route(user: CurrentUser, session: SessionDep, ticket_id: TicketId) -> TicketDetail:
    """One ticket: explanation, evidence, action (current and proposed), approvals, history."""
    return detail_of(session, record=load_ticket(session, ticket_id, user))
