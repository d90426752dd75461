"""The UI's learning page (what the verdicts taught, admin undo) and recount count forms."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from api.auth import Role
from api.deps import SessionDep, require_role, require_site_role
from api.routes.learning import get_learning
from api.routes.recounts import CountIn, count_route, waiting_route
from api.routes.tickets import TicketId
from api.web.forms import form_fields, parse_form
from api.web.session import SameOrigin, UiUser
from api.web.templating import templates

router = APIRouter(prefix="/ui", include_in_schema=False)


class UndoForm(BaseModel):
    """An admin's undo of a learned rule."""

    rule_id: str = Field(pattern=r"^LR-[0-9a-f]{10}$")
    reason: str = Field(min_length=1, max_length=2000)


@router.get("/learning", response_class=HTMLResponse)
def learning_page(request: Request, user: UiUser) -> Response:
    """What this site's verdicts taught: rules, suppressions, guardrail holds, ignored votes."""
    acting = require_site_role(Role.VIEWER)(request, user)
    learning = get_learning(request)
    return templates.TemplateResponse(request, "learning.html", {
        "user": user, "learned": learning.learned(), "suppressed": learning.suppressed,
        "held": learning.held, "is_admin": acting.role.at_least(Role.ADMIN)})


@router.post("/learning/undo", dependencies=[SameOrigin])
async def learning_undo(request: Request, user: UiUser) -> Response:
    """Switch a learned rule off (admins)."""
    require_site_role(Role.ADMIN)(request, user)
    form = parse_form(UndoForm, await form_fields(request))
    get_learning(request).undo(form.rule_id, by=user.name, reason=form.reason)
    return RedirectResponse("/ui/learning", status_code=303)


@router.get("/recounts", response_class=HTMLResponse)
def recounts_page(request: Request, user: UiUser, session: SessionDep) -> Response:
    """Recounts waiting for their blind count, each with a count form (no expected qty)."""
    return templates.TemplateResponse(request, "recounts.html", {
        "user": user, "waiting": waiting_route(request, user, session)})


@router.post("/recounts/{ticket_id}/count", dependencies=[SameOrigin])
async def recount_count(ticket_id: TicketId, request: Request, user: UiUser,
                        session: SessionDep) -> Response:
    """Post a blind count; the ticket comes back with its follow-up for approval."""
    require_role(Role.SUPERVISOR)(user)
    form = parse_form(CountIn, await form_fields(request))
    count_route(ticket_id, form, request, user, session)
    return RedirectResponse(f"/ui/tickets/{ticket_id}", status_code=303)
