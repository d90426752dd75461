"""``POST /v1/tickets/{id}/decision`` and ``POST /v1/tickets/{id}/write-back`` (retry)."""

from __future__ import annotations

from fastapi import APIRouter

from api.decisions import DecisionIn, DecisionOutcome, decide, retry_write_back
from api.deps import PolicyDep, RunnerDep, SessionDep, SupervisorUser
from api.errors import ErrorBody, error_responses
from api.routes.tickets import TicketId, load_ticket

router = APIRouter(prefix="/v1/tickets", tags=["decisions"])


@router.post("/{ticket_id}/decision", response_model=DecisionOutcome,
             responses={**error_responses(403, 404, 409, 422),
                        403: {"model": ErrorBody,
                              "description": "role too weak, or approving one's own edit"},
                        409: {"model": ErrorBody, "description": "already decided, the action "
                              "changed, already approved, or a concurrent decision won"}})
def decision_route(ticket_id: TicketId, body: DecisionIn, user: SupervisorUser,
                   session: SessionDep, policy: PolicyDep, runner: RunnerDep) -> DecisionOutcome:
    """Approve, reject or edit the ticket's action; a complete approval writes it back once."""
    record = load_ticket(session, ticket_id, user)
    return decide(session, record=record, user=user, body=body, policy=policy, runner=runner)


@router.post("/{ticket_id}/write-back", response_model=DecisionOutcome,
             responses={**error_responses(404, 422),
                        409: {"model": ErrorBody,
                              "description": "not a failed write-back, or already written"}})
def write_back_route(ticket_id: TicketId, user: SupervisorUser, session: SessionDep,
                     runner: RunnerDep) -> DecisionOutcome:
    """Retry a failed write-back under the same idempotency key (it never lands twice)."""
    record = load_ticket(session, ticket_id, user)
    return retry_write_back(session, record=record, user=user, runner=runner)
