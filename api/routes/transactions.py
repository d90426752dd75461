"""``POST /v1/transactions``: contract events in, persisted before the answer, scored online."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, ValidationError

from api.deps import AuditDep, QueueDep, StoreDep, SupervisorUser
from api.errors import ApiError, field_path
from warehouse.audit import AuditKind
from warehouse.contract import TRANSACTION_COLUMNS, TYPES_WITH_DESTINATION, Transaction

router = APIRouter(prefix="/v1/transactions", tags=["transactions"])
MAX_BATCH = 10_000


class RowError(BaseModel):
    """Why one posted row was rejected."""

    index: int
    field: str
    message: str


class IngestResult(BaseModel):
    """What happened to a posted event or batch."""

    received: int
    accepted: int
    rejected: list[RowError]
    flagged: int


class BatchRejected(ApiError):
    """Every row of the request was bad (422); carries the per-row errors."""

    status_code = 422


def validate_rows(rows: list[Any]) -> tuple[list[Transaction], list[RowError]]:
    """Contract-validate each row; bad rows are named by index and field, good ones kept."""
    good: list[Transaction] = []
    bad: list[RowError] = []
    for index, row in enumerate(rows):
        if not isinstance(row, dict):
            bad.append(RowError(index=index, field="row", message="must be a JSON object"))
            continue
        try:
            txn = Transaction.model_validate(row)
        except ValidationError as exc:
            bad.extend(
                RowError(index=index, field=field_path(tuple(e["loc"])), message=e["msg"])
                for e in exc.errors()
            )
            continue
        problem = _row_rule(txn)
        if problem:
            bad.append(RowError(index=index, field=problem[0], message=problem[1]))
            continue
        good.append(txn)
    return good, bad


def _row_rule(txn: Transaction) -> tuple[str, str] | None:
    """Contract rules beyond field types: a parsable, offset-aware ts; a destination."""
    try:
        ts = datetime.fromisoformat(txn.ts)
    except ValueError:
        return "ts", f"not an ISO-8601 time: {txn.ts!r}"
    if ts.tzinfo is None:
        return "ts", "needs a UTC offset, e.g. 2024-05-01T08:00:00+00:00"
    if txn.type in TYPES_WITH_DESTINATION and not txn.to_location:
        return "to_location", f"required for {txn.type.value}"
    return None


def to_frame(txns: list[Transaction]) -> pd.DataFrame:
    """Validated events as a transactions frame (contract columns first, ts as UTC)."""
    frame = pd.DataFrame([t.model_dump(mode="json") for t in txns])
    extras = [c for c in frame.columns if c not in TRANSACTION_COLUMNS]
    frame = frame.reindex(columns=[*TRANSACTION_COLUMNS, *extras])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True, format="ISO8601")
    return frame.drop_duplicates("txn_id", keep="first").reset_index(drop=True)


@router.post("", status_code=201, response_model=IngestResult,
             responses={207: {"model": IngestResult}, 422: {"description": "every row bad"}})
def post_transactions(
    request: Request,
    response: Response,
    user: SupervisorUser,
    store: StoreDep,
    queue: QueueDep,
    audit: AuditDep,
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
    metrics = request.app.state.metrics
    good, bad = validate_rows(rows)
    metrics.events.labels("rejected").inc(len({e.index for e in bad}))
    if not good:
        summary = "; ".join(f"row {e.index} {e.field}: {e.message}" for e in bad[:5])
        raise BatchRejected(
            f"no valid rows: {summary}", extra={"rejected": [e.model_dump() for e in bad]}
        )
    store.append_transactions(to_frame(good))
    metrics.events.labels("accepted").inc(len(good))
    flagged = _score_online(request, good, queue, audit)
    if bad:
        response.status_code = 207
    return IngestResult(received=len(rows), accepted=len(good), rejected=bad, flagged=flagged)


def _score_online(request: Request, txns: list[Transaction], queue: QueueDep,
                  audit: AuditDep) -> int:
    """Score each event with the online scorer, if one is configured; queue what it flags."""
    scorer = request.app.state.scorer
    if scorer is None:
        return 0
    flagged = 0
    for txn in txns:
        flags = scorer.score_event(txn)
        if not flags:
            continue
        payload = {"txn_id": txn.txn_id, "flags": [f.model_dump(mode="json") for f in flags]}
        if queue.enqueue(kind="FLAGS", dedup_key=f"flags:{txn.txn_id}", payload=payload,
                         correlation_id=txn.txn_id):
            audit.append(AuditKind.FLAG, payload, correlation_id=txn.txn_id)
            flagged += 1
    request.app.state.metrics.flags.inc(flagged)
    return flagged
