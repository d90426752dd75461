"""``POST /v1/transactions``: contract events in, persisted before the answer, scored online."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from api.deps import SiteSupervisor
from api.errors import ApiError, Conflict, ErrorBody
from api.intake import IngestResult

router = APIRouter(prefix="/v1/transactions", tags=["transactions"])
MAX_BATCH = 10_000


class BatchRejected(ApiError):
    """Every row of the request was bad (422); carries the per-row errors."""

    status_code = 422


class RedeliveryConflict(Conflict):
    """Every row re-delivers a stored txn_id with another payload (409)."""


@router.post("", status_code=201, response_model=IngestResult,
             responses={207: {"model": IngestResult, "description": "some rows rejected"},
                        409: {"model": ErrorBody, "description": "every row re-delivers a "
                              "stored txn_id with another payload"},
                        422: {"model": ErrorBody,
                              "description": "every row bad, or the body is not JSON"}})
def post_transactions(
    request: Request,
    response: Response,
    user: SiteSupervisor,
    body: Annotated[dict[str, Any] | list[Any], Body(description="one event or a list")],
) -> IngestResult:
    """Persist one contract event or a batch; idempotent on ``txn_id``.

    The events are the service's site's; the caller must be a supervisor there (403).
    Answers 201 when every row was accepted, 207 when some rows were rejected (the valid
    ones are persisted; ``rejected`` names each bad row's index and field), 422 when none
    was valid, 409 when every row re-delivers a stored ``txn_id`` with another payload. A
    re-delivery of the stored payload is accepted and changes nothing.
    """
    rows = body if isinstance(body, list) else [body]
    if not rows:
        raise BatchRejected("empty batch: send one event or a non-empty list")
    if len(rows) > MAX_BATCH:
        raise BatchRejected(f"batch of {len(rows)} rows is over the limit of {MAX_BATCH}")
    result = request.app.state.intake.accept(rows)
    if not result.accepted:
        summary = "; ".join(f"row {e.index} {e.field}: {e.message}" for e in result.rejected[:5])
        if all(e.conflict for e in result.rejected):
            raise RedeliveryConflict(
                f"conflicting re-delivery: {summary}",
                extra={"rejected": [e.model_dump() for e in result.rejected]})
        raise BatchRejected(
            f"no valid rows: {summary}",
            extra={"rejected": [e.model_dump() for e in result.rejected]},
        )
    if result.rejected:
        response.status_code = 207
    return result
