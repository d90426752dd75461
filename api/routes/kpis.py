"""``GET /v1/kpis``: the queue's volume, aging, time to decision and precision by cause."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, SessionDep
from api.kpis import Kpis, compute_kpis
from api.routes.tickets import visible_sites

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])


@router.get("", response_model=Kpis)
def kpis_route(user: CurrentUser, session: SessionDep,
               site: Annotated[str | None, Query(max_length=64,
                                                 description="one site's tickets")] = None,
               ) -> Kpis:
    """Volume by cause and severity, open-ticket aging, time to decision, precision by cause.

    Over the sites the caller holds a role at, or ``site`` (403 where they hold none).
    """
    return compute_kpis(session, sites=visible_sites(user, site))
