"""``POST /v1/transactions``: contract events in, persisted before the answer, scored online."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response

from api.deps import SupervisorUser
from api.errors import ApiError
from api.intake import IngestResult

router = APIRouter(prefix="/v1/transactions", tags=["transactions"])
MAX_BATCH = 10_000


class BatchRejected(ApiError):
    """Every row of the request was bad (422); carries the per-row errors."""

    status_code = 422


@router.post("", status_code=201, response_model=IngestResult,
             responses={207: {"model": IngestResult}, 422: {"description": "every row bad"}})
def post_transactions(
    request: Request,
    response: Response,
    user: SupervisorUser,
    body: Annotated[dict[str, Any] | list[Any], Body(description="one event or a list")],
) -> IngestResult:
    """Persist one contract event or a batch; idempotent on ``txn_id``.

    Answers 201 when every row was accepted, 207 when some rows were rejected (the valid
    ones are persisted; ``rejected`` names each bad row's index and field), 422 when none
    was valid. Rows already stored under the same ``txn_id`` are ignored as re-deliveries.
    """
    rows = body if isinstance(body, list) else [body]
    if not rows:
        raise BatchRejected("empty batch: send one event or a non-empty list")
    if len(rows) > MAX_BATCH:
        raise BatchRejected(f"batch of {len(rows)} rows is over the limit of {MAX_BATCH}")
    result = request.app.state.intake.accept(rows)
    if not result.accepted:
        summary = "; ".join(f"row {e.index} {e.field}: {e.message}" for e in result.rejected[:5])
        raise BatchRejected(
            f"no valid rows: {summary}",
            extra={"rejected": [e.model_dump() for e in result.rejected]},
        )
    if result.rejected:
        response.status_code = 207
    return result
