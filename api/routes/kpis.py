"""``GET /v1/kpis``: the queue's volume, aging, time to decision and precision by cause."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from api.kpis import Kpis, compute_kpis

router = APIRouter(prefix="/v1/kpis", tags=["kpis"])


@router.get("", response_model=Kpis)
def kpis_route(_: CurrentUser, session: SessionDep) -> Kpis:
    """Volume by cause and severity, open-ticket aging, time to decision, precision by cause."""
    return compute_kpis(session)
