"""``GET /v1/recounts`` (tickets waiting for a blind count) and the count form's endpoint."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from api.deps import CurrentUser, SessionDep, SupervisorUser
from api.errors import ApiError, Conflict, NotFound
from api.recounts import Recounts
from api.routes.tickets import TicketId
from api.tickets import TicketDetail, detail_of, get_ticket
from warehouse.contract import TicketStatus

router = APIRouter(prefix="/v1/recounts", tags=["recounts"])


class Waiting(BaseModel):
    """A recount whose blind count has not arrived."""

    ticket_id: str
    sku: str | None
    locations: list[str]
    since: str | None = Field(description="when the count task was written back")
    overdue: bool = Field(description="escalated: past TALLY_RECOUNT_ESCALATE_H")


class CountIn(BaseModel):
    """A blind count, as the UI's count form posts it (no expected quantity is shown)."""

    model_config = {"extra": "forbid"}

    location: str = Field(min_length=1, max_length=128)
    counted_qty: float = Field(ge=0, le=10_000_000, description="eaches counted")


class NoRecounts(ApiError):
    """The service runs without a graph: nothing waits for counts (409)."""

    status_code = 409


def _recounts(request: Request) -> Recounts:
    recounts = getattr(request.app.state, "recounts", None)
    if recounts is None:
        raise NoRecounts("this service has no triage graph: no recount waits for a count")
    return recounts


@router.get("", response_model=list[Waiting])
def waiting_route(request: Request, _: CurrentUser, session: SessionDep) -> list[Waiting]:
    """Recounts waiting for their count (overdue ones are escalated on the way)."""
    recounts = _recounts(request)
    recounts.escalate_overdue()
    return [Waiting(ticket_id=r.ticket_id, sku=r.action.get("params", {}).get("sku") or r.sku,
                    locations=r.action.get("params", {}).get("locations", []),
                    since=r.decided_at, overdue=bool(r.extra.get("count_overdue_at")))
            for r in recounts.waiting(session)]


@router.post("/{ticket_id}/count", response_model=TicketDetail,
             responses={404: {"description": "no such ticket"},
                        409: {"description": "not waiting for a count, or another location"}})
def count_route(ticket_id: TicketId, body: CountIn, request: Request, user: SupervisorUser,
                session: SessionDep) -> TicketDetail:
    """Post the blind count as a CYCLE_COUNT event; the ticket's graph resumes with it."""
    recounts = _recounts(request)
    record = get_ticket(session, ticket_id=ticket_id)
    if record is None or user.role_at(record.site) is None:
        raise NotFound(f"no ticket {ticket_id}")
    if record.status != TicketStatus.AWAITING_COUNT.value:
        raise Conflict(f"ticket {ticket_id} is {record.status}, not waiting for a count")
    params = record.action.get("params", {})
    if body.location not in params.get("locations", []):
        raise Conflict(f"ticket {ticket_id} recounts {', '.join(params.get('locations', []))},"
                       f" not {body.location}")
    now = datetime.now(UTC)
    event = {"txn_id": f"CNT-{ticket_id}-{now.strftime('%Y%m%d%H%M%S%f')}",
             "ts": now.isoformat(timespec="seconds"), "type": "CYCLE_COUNT",
             "sku": params.get("sku") or record.sku, "qty": body.counted_qty, "uom": "EA",
             "location": body.location, "user_id": user.name, "ref": ticket_id,
             "note": "blind count (Tally count form)"}
    result = request.app.state.intake.accept([event])
    if not result.accepted:
        raise Conflict(f"the count was not accepted: {result.rejected[0].message}")
    recounts.counts_arrived([event])
    session.expire_all()
    fresh = get_ticket(session, ticket_id=ticket_id)
    assert fresh is not None
    return detail_of(session, record=fresh)
