"""The KPI page: the service's :func:`api.kpis.compute_kpis` as charts and tables."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import Session, col, select

import api.web.kpi_charts as kpi_charts
from api.deps import SessionDep
from api.errors import NotFound
from api.kpis import Kpis, compute_kpis, event_day, site_scope
from api.routes.tickets import visible_sites
from api.tickets import TicketRecord
from api.web.session import UiUser
from api.web.templating import templates

router = APIRouter(prefix="/ui/kpis", include_in_schema=False)

CHARTS = {
    "money-by-cause": "Value at risk by root cause: open and corrected",
    "money-by-week": "Value at risk by the week the incident happened",
    "volume-by-cause": "Tickets per day the incident happened, by root cause",
    "volume-by-severity": "Tickets per day the incident happened, by severity",
    "cause-severity": "All tickets by root cause and severity",
    "aging": "Open tickets by age",
    "time-to-decision": "Time from ticket to decision",
    "precision": "Precision by root cause, from decisions",
}


SiteQuery = Annotated[str | None, Query(max_length=64, description="one site's tickets")]


def daily_volume(session: Session, sites: list[str] | None) -> pd.DataFrame:
    """Tickets per UTC day the incident happened, root cause and severity.

    The day is the incident's first transaction (the creation day for tickets that do not
    say); columns ``day``, ``root_cause``, ``severity``, ``tickets``.
    """
    t = TicketRecord
    rows = session.exec(select(col(t.created_at), col(t.extra), col(t.root_cause),
                               col(t.severity)).where(*site_scope(sites))).all()
    frame = pd.DataFrame([(event_day(c, e), cause, sev) for c, e, cause, sev in rows],
                         columns=["day", "root_cause", "severity"])
    return frame.groupby(["day", "root_cause", "severity"]).size().rename(
        "tickets").reset_index()


def _chart(name: str, session: Session, kpis: Kpis, sites: list[str] | None) -> bytes:
    match name:
        case "money-by-cause":
            return kpi_charts.money_chart(kpis.money_by_cause, "root cause")
        case "money-by-week":
            return kpi_charts.money_chart(kpis.money_by_week, "week of the incident")
        case "volume-by-cause":
            return kpi_charts.volume_chart(daily_volume(session, sites), "root_cause")
        case "volume-by-severity":
            return kpi_charts.volume_chart(daily_volume(session, sites), "severity")
        case "cause-severity":
            return kpi_charts.cause_severity_chart(kpis)
        case "aging":
            return kpi_charts.aging_chart(kpis)
        case "time-to-decision":
            return kpi_charts.decision_time_chart(kpis)
        case "precision":
            return kpi_charts.precision_chart(kpis)
    raise NotFound(f"no chart {name!r}: one of {', '.join(CHARTS)}")


@router.get("", response_class=HTMLResponse)
def kpi_page(request: Request, user: UiUser, session: SessionDep,
             site: SiteQuery = None) -> Response:
    """Volume by cause and severity over time, aging, time to decision, precision by cause."""
    return templates.TemplateResponse(request, "kpis.html", {
        "user": user, "k": compute_kpis(session, sites=visible_sites(user, site)),
        "charts": CHARTS, "site": site})


@router.get("/{name}.svg")
def kpi_chart(name: Annotated[str, Path(max_length=40)], user: UiUser,
              session: SessionDep, site: SiteQuery = None) -> Response:
    """One KPI chart as SVG."""
    sites = visible_sites(user, site)
    svg = _chart(name, session, compute_kpis(session, sites=sites), sites)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
