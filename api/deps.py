"""FastAPI dependencies: settings, database session, the calling user and role checks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy import Engine
from sqlmodel import Session

from actions.audit import AuditLog
from api.approvals import ApprovalPolicy
from api.auth import Principal, Role
from api.errors import Forbidden, NotAuthenticated
from api.worker import WorkQueue
from api.writeback import WriteBackRunner
from warehouse.settings import Settings
from warehouse.sites import DEFAULT_SITE


def get_settings_dep(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    """The store's database engine."""
    return request.app.state.engine


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """A database session for one request."""
    with Session(engine) as session:
        yield session


def get_store(request: Request) -> Any:
    """The warehouse store (loader/store stage) the app writes events into."""
    return request.app.state.store


def get_queue(request: Request) -> WorkQueue:
    """The pending-work queue."""
    return request.app.state.queue


def get_audit(request: Request) -> AuditLog:
    """The audit log."""
    return request.app.state.audit


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionDep = Annotated[Session, Depends(get_session)]
StoreDep = Annotated[Any, Depends(get_store)]
QueueDep = Annotated[WorkQueue, Depends(get_queue)]
AuditDep = Annotated[AuditLog, Depends(get_audit)]


def get_current_user(
    request: Request,
    session: SessionDep,
    authorization: Annotated[str | None, Header()] = None,
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    """The caller, from ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``."""
    token = x_api_key
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value:
            raise NotAuthenticated("Authorization header must be 'Bearer <api key>'")
        token = value
    if not token:
        raise NotAuthenticated("missing API key: send 'Authorization: Bearer <api key>'")
    principal = request.app.state.key_cache.authenticate(session, token)
    if principal is None:
        raise NotAuthenticated("invalid or revoked API key")
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def require_role(minimum: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through only callers with ``minimum`` or a stronger role."""

    def check(user: CurrentUser) -> Principal:
        if not user.role.at_least(minimum):
            raise Forbidden(f"{user.name} is a {user.role}; this needs {minimum} or above")
        return user

    return check


SupervisorUser = Annotated[Principal, Depends(require_role(Role.SUPERVISOR))]
AdminUser = Annotated[Principal, Depends(require_role(Role.ADMIN))]


def service_site(request: Request) -> str:
    """The site of this service's store: posted events, item changes, verdicts, count plans."""
    return str(getattr(request.app.state.store, "site", DEFAULT_SITE))


def require_site_role(minimum: Role) -> Callable[[Request, Principal], Principal]:
    """A dependency: callers with ``minimum`` or above at the service's site, acting there."""

    def check(request: Request, user: CurrentUser) -> Principal:
        site = service_site(request)
        acting = user.at_site(site)
        if acting is None:
            raise Forbidden(f"{user.name} holds no role at site {site!r}, whose rows this "
                            "service keeps")
        if not acting.role.at_least(minimum):
            where = "" if user.sites is None else f" at site {site!r}"
            raise Forbidden(f"{user.name} is a {acting.role}{where}; this needs {minimum} or "
                            "above")
        return acting

    return check


SiteViewer = Annotated[Principal, Depends(require_site_role(Role.VIEWER))]
SiteSupervisor = Annotated[Principal, Depends(require_site_role(Role.SUPERVISOR))]
SiteAdmin = Annotated[Principal, Depends(require_site_role(Role.ADMIN))]


def get_runner(request: Request) -> WriteBackRunner:
    """Carries decided tickets to the WMS (through the graph when it holds the ticket)."""
    return request.app.state.write_back


def get_policy(settings: SettingsDep) -> ApprovalPolicy:
    """The approval value limits in force."""
    return ApprovalPolicy.from_settings(settings)


RunnerDep = Annotated[WriteBackRunner, Depends(get_runner)]
PolicyDep = Annotated[ApprovalPolicy, Depends(get_policy)]
