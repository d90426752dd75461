"""``GET /v1/count-plan``: the day's count plan; ``POST /v1/count-plan/approve``: push it.

The plan is risk-ranked over the store; its approval is one decision for the batch, and
each line goes to the WMS as a blind RECOUNT task.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import text
from sqlmodel import col, select

from api.auth import Principal, Role
from api.count_outcomes import PlanOutcomes, plan_outcomes
from api.count_plans import (
    ApprovedPlanOut,
    ApprovePlanIn,
    CountPlanOut,
    CountPlanRecord,
    CountTaskRecord,
    NoPlan,
    approve_plan,
    plan_out,
)
from api.deps import (
    AuditDep,
    CurrentUser,
    RunnerDep,
    SessionDep,
    SupervisorUser,
    require_site_role,
    service_site,
)
from api.errors import NotFound

router = APIRouter(prefix="/v1/count-plan", tags=["count plan"])


def plan_site(request: Request, user: Principal) -> str:
    """The site the service plans for (its store's), where ``user`` must be a supervisor.

    Raises:
        Forbidden: ``user`` is no supervisor at that site.
    """
    require_site_role(Role.SUPERVISOR)(request, user)
    return service_site(request)
MAX_TOP = 1000


def current_plan(request: Request, top: int) -> CountPlanOut:
    """The plan over the store as it is now (kept until the log or the master changes)."""
    from scoring.count_plan import plan_site

    store = request.app.state.store
    with store.engine.connect() as conn:
        state = tuple(conn.execute(text(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM transactions), "
            "(SELECT COUNT(*) FROM item_versions)")).one())
    cache = getattr(request.app.state, "count_plan_cache", {})
    key = (state, top)
    if key not in cache:
        data = store.snapshot()
        if len(data.transactions) == 0:
            raise NoPlan("the store holds no transactions to plan from: ingest a log first")
        cache = {key: plan_out(plan_site(data, top=top), top)}
        request.app.state.count_plan_cache = cache
    return cache[key]


@router.get("", response_model=CountPlanOut)
def get_plan(
    request: Request,
    user: SupervisorUser,
    top: Annotated[int, Query(ge=1, le=MAX_TOP, description="locations to plan")] = 50,
) -> CountPlanOut:
    """The ``top`` locations most likely to hold a record that differs from the shelf.

    Ranked by expected money in error; ``score`` is the probability that a record at the
    location is wrong; ``sku`` names the record in doubt (null: count the whole bin).
    Approve the plan you reviewed by its ``plan_digest``.
    """
    plan_site(request, user)
    return current_plan(request, top)


@router.post("/approve", response_model=ApprovedPlanOut)
def approve(
    request: Request, user: SupervisorUser, session: SessionDep, audit: AuditDep,
    runner: RunnerDep, body: ApprovePlanIn,
) -> ApprovedPlanOut:
    """Approve the reviewed plan once: one audited decision, one blind RECOUNT per line.

    409 when the plan changed since it was reviewed. Approving the same plan again writes
    nothing twice: it retries only tasks whose write-back failed.
    """
    site = plan_site(request, user)
    plan = current_plan(request, body.top)
    return approve_plan(session, plan=plan, body=body, user=user, audit=audit,
                        runner=runner, site=site)


@router.get("/{plan_id}/outcomes", response_model=PlanOutcomes)
def outcomes(
    request: Request, user: CurrentUser, session: SessionDep,
    plan_id: Annotated[str, Path(min_length=1, max_length=40)],
) -> PlanOutcomes:
    """What the counts of an approved plan found, against the scores the plan gave them."""
    record = session.get(CountPlanRecord, plan_id)
    if record is None or user.role_at(record.site) is None:
        raise NotFound(f"no approved count plan {plan_id!r}")
    tasks = list(session.exec(select(CountTaskRecord).where(
        CountTaskRecord.plan_id == plan_id).order_by(col(CountTaskRecord.rank))))
    return plan_outcomes(request.app.state.engine, record, tasks)
