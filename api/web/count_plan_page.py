"""The count-plan page: today's risk-ranked plan, and the supervisor's one approval of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from api.auth import Principal
from api.count_plans import ApprovedPlanOut, ApprovePlanIn, approve_plan
from api.deps import AuditDep, RunnerDep, SessionDep
from api.errors import ApiError
from api.routes.count_plan import MAX_TOP, current_plan, plan_site
from api.web.forms import form_fields, parse_form
from api.web.session import SameOrigin, UiUser
from api.web.templating import templates

router = APIRouter(prefix="/ui/count-plan", include_in_schema=False)
DEFAULT_TOP = 25


def _page(request: Request, user: Principal, top: int, *,
          approved: ApprovedPlanOut | None = None, error: str | None = None,
          status_code: int = 200) -> Response:
    plan = None
    try:
        plan_site(request, user)
        plan = current_plan(request, top)
    except ApiError as exc:
        error, status_code = error or exc.message, exc.status_code
    return templates.TemplateResponse(request, "count_plan.html", {
        "user": user, "plan": plan, "top": top, "approved": approved, "error": error,
        "max_top": MAX_TOP}, status_code=status_code)


@router.get("", response_class=HTMLResponse)
def count_plan_page(request: Request, user: UiUser,
                    top: Annotated[int, Query(ge=1, le=MAX_TOP)] = DEFAULT_TOP) -> Response:
    """The plan: locations ranked by expected money in error, with the reasons."""
    return _page(request, user, top)


@router.post("/approve", response_class=HTMLResponse, dependencies=[SameOrigin])
async def approve(request: Request, user: UiUser, session: SessionDep,
                  audit: AuditDep, runner: RunnerDep) -> Response:
    """Approve the plan shown (by its digest): one decision, blind RECOUNT tasks to the WMS."""
    form = parse_form(ApprovePlanIn, await form_fields(request))

    def act() -> Response:
        try:
            approved = approve_plan(session, plan=current_plan(request, form.top), body=form,
                                    user=user, audit=audit, runner=runner,
                                    site=plan_site(request, user))
        except ApiError as exc:
            return _page(request, user, form.top, error=exc.message,
                         status_code=exc.status_code)
        return _page(request, user, form.top, approved=approved)

    return await run_in_threadpool(act)  # the WMS calls may wait: keep them off the loop
