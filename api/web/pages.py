"""The supervisor UI's pages: login, the queue, a ticket with its plot, and decisions.

Every page calls the same service functions as the ``/v1`` API (:mod:`api.tickets`,
:mod:`api.decisions`, :mod:`api.approvals`) with the identity from the login cookie, so the
UI can do nothing the caller's API key could not do through the API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup, escape
from pydantic import BaseModel, Field

from actions.wms import WriteBackStatus
from api.approvals import ApprovalVerdict, action_value, check_approval
from api.auth import Principal, Role, authenticate
from api.chat.history import messages_of
from api.decisions import (
    DecisionIn,
    DecisionKind,
    DecisionOutcome,
    decide,
    retry_write_back,
)
from api.deps import PolicyDep, RunnerDep, SessionDep, require_role
from api.errors import ApiError
from api.routes.tickets import load_ticket
from api.tickets import (
    TicketDetail,
    TicketQuery,
    TicketRecord,
    detail_of,
    get_ticket,
    list_tickets,
    ticket_sites,
)
from api.web.balance_plot import ticket_plot_svg
from api.web.forms import coerce_param, form_fields, parse_form
from api.web.ledger_source import current_snapshot
from api.web.preview import preview_write
from api.web.queue import QueueFilters, QueueGroup, build_queue
from api.web.session import (
    SameOrigin,
    UiUser,
    clear_login_cookie,
    cookie_user,
    safe_next,
    set_login_cookie,
)
from api.web.templating import templates
from api.web.ticket_view import evidence_label, queue_row, ticket_field
from warehouse.contract import Action, RootCause, Severity, TicketStatus

router = APIRouter(prefix="/ui", include_in_schema=False)
TicketId = Annotated[str, Path(min_length=1, max_length=128)]
COLUMNS = [("severity", "Severity"), ("value", "Value at risk"), ("cause", "Root cause"),
           ("sku", "Item"), ("location", "Location"), ("summary", "Summary"),
           ("action", "Fix"), ("assignee", "Who acts"), ("status", "State"), ("age", "Age"),
           ("risk", "Risk")]
"""The queue's columns (sort key, heading), in order."""
_CITATION = re.compile(r"\[?\b(E\d{1,4})\b\]?")


class LoginForm(BaseModel):
    """The login form: an API key pasted by the user."""

    api_key: str = Field(min_length=1, max_length=400)
    next: str | None = Field(default=None, max_length=2000)


class DecisionForm(BaseModel):
    """The decide form on a ticket page (approve asks for a confirm step first)."""

    decision: DecisionKind
    comment: str = Field(default="", max_length=2000)
    reason: str = Field(default="", max_length=2000, description="reject: why (required)")
    action_digest: str | None = Field(default=None, pattern="^[0-9a-f]{64}$")
    confirm: bool = Field(default=False, description="approve: the preview was confirmed")


def _page(request: Request, name: str, user: Principal | None, status_code: int = 200,
          **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"user": user, **context},
                                      status_code=status_code)


def _descriptions(request: Request) -> dict[str, str | None]:
    snapshot = current_snapshot(request.app)
    items = snapshot.items
    if "description" not in items.columns:
        return {}
    return {str(k): (v if isinstance(v, str) else None)
            for k, v in items["description"].items()}


def _queue_page(request: Request, session: SessionDep, user: Principal, policy: PolicyDep,
                filters: QueueFilters) -> dict[str, Any]:
    queue = build_queue(session, user, policy, filters, _descriptions(request))
    return {"q": queue, "filters": filters, "statuses": list(TicketStatus),
            "severities": list(Severity), "causes": list(RootCause), "groups": list(QueueGroup),
            "columns": COLUMNS, "sites": ticket_sites(session, sites=user.visible_sites())}


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, session: SessionDep,
               next: Annotated[str | None, Query(max_length=2000)] = None) -> Response:
    """Paste an API key to sign in."""
    user = cookie_user(request, session)
    if user is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _page(request, "login.html", None, next=safe_next(next))


@router.post("/login", response_class=HTMLResponse, dependencies=[SameOrigin])
async def login(request: Request, session: SessionDep) -> Response:
    """Check the pasted key; a good one is kept in an HttpOnly, SameSite=Strict cookie."""
    form = parse_form(LoginForm, await form_fields(request))
    target = safe_next(form.next)
    user = authenticate(session, form.api_key)
    if user is None:
        return _page(request, "login.html", None, status_code=401, next=target,
                     error="That API key is not valid (unknown, revoked or mistyped).")
    response = RedirectResponse(target, status_code=303)
    set_login_cookie(response, request, form.api_key.strip())
    return response


@router.post("/logout", dependencies=[SameOrigin])
def logout() -> Response:
    """Forget the key in this browser."""
    response = RedirectResponse("/ui/login", status_code=303)
    clear_login_cookie(response)
    return response


@router.get("", include_in_schema=False)
def ui_root() -> Response:
    """``/ui`` -> the queue."""
    return RedirectResponse("/ui/", status_code=307)


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, user: UiUser, session: SessionDep, policy: PolicyDep,
               filters: Annotated[QueueFilters, Query()]) -> Response:
    """The queue: mine to act on first, by severity, value and risk; any column sorts."""
    return _page(request, "queue.html", user, **_queue_page(request, session, user, policy,
                                                             filters))


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, user: UiUser, session: SessionDep, policy: PolicyDep,
           q: Annotated[str, Query(min_length=1, max_length=128)]) -> Response:
    """Find by what the supervisor has at hand: a ticket id, a SKU or a location."""
    q = q.strip()
    found = get_ticket(session, ticket_id=q)
    if found is not None and user.role_at(found.site) is not None:
        return RedirectResponse(f"/ui/tickets/{quote(q, safe='')}", status_code=303)
    for field in ("sku", "location"):
        total, _ = list_tickets(session, query=TicketQuery(**{field: q}, limit=1),
                                sites=user.visible_sites())
        if total:
            return RedirectResponse(QueueFilters(**{field: q, "view": "all"}).link(),
                                    status_code=303)
    return _page(request, "queue.html", user, status_code=404,
                 error=f"No ticket, SKU or location matches {q!r}.",
                 **_queue_page(request, session, user, policy, QueueFilters()))


@router.get("/queue/rows", response_class=HTMLResponse)
def queue_rows(request: Request, user: UiUser, session: SessionDep, policy: PolicyDep,
               filters: Annotated[QueueFilters, Query()]) -> Response:
    """The queue table's body alone, for the page's live refresh."""
    return _page(request, "_queue_rows.html", user, **_queue_page(request, session, user, policy,
                                                                   filters))


def write_back_state(detail: TicketDetail) -> str | None:
    """landed, retrying, failed or None (nothing to write back yet)."""
    status = detail.write_back.status
    if status in (WriteBackStatus.APPLIED, WriteBackStatus.ALREADY_APPLIED):
        return "landed"
    if status == WriteBackStatus.FAILED or detail.status == TicketStatus.WRITE_BACK_FAILED:
        return "failed"
    if detail.status == TicketStatus.APPROVED:
        return "retrying"
    return None


def linkify_citations(text: str, known: set[str]) -> Markup:
    """Escape ``text`` and turn citations of known evidence ids (``E3``) into row links."""
    def link(match: re.Match[str]) -> str:
        ref = match.group(1)
        if ref not in known:
            return match.group(0)
        return f'<a class="cite" href="#ev-{ref}">{match.group(0)}</a>'

    return Markup(_CITATION.sub(link, str(escape(text))))


def evidence_ids(detail: TicketDetail) -> list[str]:
    """Each evidence row's citation id (its own, else E1, E2, ... by position)."""
    return [e.id or f"E{i}" for i, e in enumerate(detail.evidence, start=1)]


def approval_preview(record: TicketRecord, detail: TicketDetail, user: Principal,
                     policy: PolicyDep) -> ApprovalVerdict:
    """What would happen if ``user`` approved now (the same rules the decision applies)."""
    action = detail.action
    return check_approval(approver=user.name, role=user.role, action=action,
                          value=action_value(action, record.unit_cost),
                          edited_by=record.edited_by, prior=detail.approvals, policy=policy)


def _ticket_page(request: Request, session: SessionDep, user: Principal, policy: PolicyDep,
                 record: TicketRecord, *, message: str | None = None, error: str | None = None,
                 status_code: int = 200, confirming: bool = False) -> Response:
    user = user.at_site(record.site) or user  # the role held at the ticket's site
    detail = detail_of(session, record=record)
    ids = evidence_ids(detail)
    verdict = approval_preview(record, detail, user, policy)
    current = [a for a in detail.approvals if a.digest == detail.action_digest]
    snapshot = current_snapshot(request.app)
    row = queue_row(record, user, policy, {record.sku or "": snapshot.description(record.sku)})
    return _page(
        request, "ticket.html", user, status_code=status_code, t=detail, message=message,
        error=error, evidence=[(ref, e, evidence_label(e))
                               for ref, e in zip(ids, detail.evidence, strict=True)],
        explanation=[linkify_citations(p, set(ids))
                     for p in detail.explanation.split("\n\n") if p.strip()],
        row=row, confirming=confirming, policy=policy,
        preview=preview_write(detail.action, snapshot.ledger, record.unit_cost,
                              snapshot.description),
        alternatives=ticket_field(record, "alternatives", []),
        verdict=verdict, current_approvals=current,
        can_decide_role=user.role.at_least(Role.SUPERVISOR),
        may_decide=user.role.at_least(Role.SUPERVISOR)
        and detail.status == TicketStatus.PENDING_APPROVAL,
        may_retry=user.role.at_least(Role.SUPERVISOR)
        and detail.status in (TicketStatus.APPROVED, TicketStatus.WRITE_BACK_FAILED),
        write_back=write_back_state(detail),
        chat=[(m, linkify_citations(m.content, set(ids)))
              for m in messages_of(session, ticket_id=detail.ticket_id)],
    )


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
def ticket_page(request: Request, ticket_id: TicketId, user: UiUser, session: SessionDep,
                policy: PolicyDep) -> Response:
    """One ticket: explanation, evidence, plot, action, decision, history, chat."""
    return _ticket_page(request, session, user, policy, load_ticket(session, ticket_id, user))


@router.get("/tickets/{ticket_id}/plot.svg")
def ticket_plot(request: Request, ticket_id: TicketId, user: UiUser,
                session: SessionDep) -> Response:
    """The SKU's system balance at the location over time, flagged rows and counts marked."""
    record = load_ticket(session, ticket_id, user)
    snapshot = current_snapshot(request.app)
    svg = snapshot.cached(("plot", record.ticket_id, record.version),
                          lambda: ticket_plot_svg(snapshot.ledger, record))
    return Response(svg, media_type="image/svg+xml",
                    headers={"Cache-Control": "private, max-age=30"})


def _edited_action(detail: TicketDetail, fields: dict[str, str]) -> Action:
    params = dict(detail.action.params)
    for key, original in detail.action.params.items():
        box = fields.get(f"param.{key}")
        if box is not None:
            params[key] = coerce_param(original, box)
    return Action(type=detail.action.type, params=params)


def _act(request: Request, session: SessionDep, user: Principal, policy: PolicyDep,
         ticket_id: str, act: Callable[[TicketRecord], DecisionOutcome]) -> Response:
    """Run a supervisor's step on the ticket; show the page with its outcome or refusal."""
    record = load_ticket(session, ticket_id, user)
    try:
        require_role(Role.SUPERVISOR)(user.at_site(record.site) or user)
        outcome = act(record)
    except ApiError as exc:
        return _ticket_page(request, session, user, policy, load_ticket(session, ticket_id, user),
                            error=exc.message, status_code=exc.status_code)
    return _ticket_page(request, session, user, policy, load_ticket(session, ticket_id, user),
                        message=outcome.message)


@router.post("/tickets/{ticket_id}/decision", response_class=HTMLResponse,
             dependencies=[SameOrigin])
async def decision(request: Request, ticket_id: TicketId, user: UiUser, session: SessionDep,
                   policy: PolicyDep, runner: RunnerDep) -> Response:
    """Approve, reject or edit, through :func:`api.decisions.decide` as the API does."""
    fields = await form_fields(request)
    form = parse_form(DecisionForm, fields)
    if form.decision is DecisionKind.APPROVE and not form.confirm:
        record = load_ticket(session, ticket_id, user)
        return _ticket_page(request, session, user, policy, record, confirming=True)
    if form.decision is DecisionKind.REJECT and not (form.reason or form.comment).strip():
        record = load_ticket(session, ticket_id, user)
        require_role(Role.SUPERVISOR)(user.at_site(record.site) or user)
        return _ticket_page(request, session, user, policy, record, status_code=422,
                            error="A rejection needs a reason: say what is wrong with the "
                                  "proposal, so the next ticket learns from it.")

    def act(record: TicketRecord) -> DecisionOutcome:
        reason = (form.reason or form.comment).strip()
        extra = {"reason": reason} if form.decision is DecisionKind.REJECT \
            and "reason" in DecisionIn.model_fields else {}
        comment = reason if form.decision is DecisionKind.REJECT else form.comment
        body = DecisionIn(decision=form.decision, comment=comment,
                          action_digest=form.action_digest, **extra)
        if form.decision is DecisionKind.EDIT:
            body.action = _edited_action(detail_of(session, record=record), fields)
        return decide(session, record=record, user=user, body=body, policy=policy,
                      runner=runner)

    # the write-back may wait on the WMS: keep it off the event loop
    return await run_in_threadpool(_act, request, session, user, policy, ticket_id, act)


@router.post("/tickets/{ticket_id}/write-back", response_class=HTMLResponse,
             dependencies=[SameOrigin])
def write_back(request: Request, ticket_id: TicketId, user: UiUser, session: SessionDep,
               policy: PolicyDep, runner: RunnerDep) -> Response:
    """Retry a failed write-back under the same idempotency key."""
    return _act(request, session, user, policy, ticket_id, lambda record: retry_write_back(
        session, record=record, user=user, runner=runner))
