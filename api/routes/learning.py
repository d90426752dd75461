"""``POST /v1/resolutions`` (verdicts in), ``GET /v1/learning`` and admin undo / redo."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from api.deps import SiteAdmin, SiteSupervisor, SiteViewer
from api.errors import NotFound
from api.learning import SiteLearning
from scoring.learning import Learned
from warehouse.contract import ActionType, Resolution, RootCause, Verdict
from warehouse.errors import UserError

router = APIRouter(tags=["learning"])


def get_learning(request: Request) -> SiteLearning:
    """The app's learning state (created on first use over the app's store and audit)."""
    state = request.app.state
    if getattr(state, "learning", None) is None:
        state.learning = SiteLearning(state.store, state.audit)
    return state.learning


LearningDep = Annotated[SiteLearning, Depends(get_learning)]
RuleId = Annotated[str, Path(pattern=r"^LR-[0-9a-f]{10}$", description="a learned rule id")]


class ResolutionIn(BaseModel):
    """One verdict (CONTRACT.md section 6); who gave it is the caller."""

    model_config = {"extra": "forbid"}

    txn_ids: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(
        min_length=1, max_length=10_000)
    verdict: Verdict
    root_cause: RootCause | None = None
    action: ActionType | None = None
    decided_at: str | None = Field(default=None, max_length=40,
                                   pattern=r"^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:?\d\d)$")
    note: str | None = Field(default=None, max_length=4000,
                             description="free text: kept as data, never read as instructions")
    ticket_id: str | None = Field(default=None, max_length=128)


class ResolutionsIn(BaseModel):
    """A batch of verdicts."""

    resolutions: list[ResolutionIn] = Field(min_length=1, max_length=10_000)


class ResolutionsOut(BaseModel):
    """What was recorded."""

    recorded: int
    decided_by: str
    rules: int = Field(description="learned rules in force after relearning")


class UndoIn(BaseModel):
    """Why an admin undoes a learned rule."""

    reason: str = Field(min_length=1, max_length=2000)


@router.post("/v1/resolutions", response_model=ResolutionsOut, status_code=201,
             responses={403: {"description": "needs supervisor or above"}})
def post_resolutions(body: ResolutionsIn, user: SiteSupervisor,
                     learning: LearningDep) -> ResolutionsOut:
    """Record verdicts given by the caller and relearn from them."""
    verdicts = [Resolution(**r.model_dump(), decided_by=user.name) for r in body.resolutions]
    n = learning.record(verdicts, source="api", by=user.name)
    learned = learning.learned()
    return ResolutionsOut(recorded=n, decided_by=user.name,
                          rules=sum(r.active for r in learned.rules))


@router.get("/v1/learning", response_model=Learned)
def get_learned(_: SiteViewer, learning: LearningDep) -> Learned:
    """What this site's verdicts taught: rules, the votes behind them, ignored verdicts."""
    return learning.learned()


@router.post("/v1/learning/rules/{rule_id}/undo", response_model=Learned,
             responses={403: {"description": "admins only"}, 404: {"description": "no rule"}})
def undo_route(rule_id: RuleId, body: UndoIn, user: SiteAdmin,
               learning: LearningDep) -> Learned:
    """Switch a learned rule off; it stays off until redone."""
    try:
        return learning.undo(rule_id, by=user.name, reason=body.reason)
    except UserError as exc:
        raise NotFound(str(exc)) from exc


@router.post("/v1/learning/rules/{rule_id}/redo", response_model=Learned,
             responses={403: {"description": "admins only"}})
def redo_route(rule_id: RuleId, user: SiteAdmin, learning: LearningDep) -> Learned:
    """Withdraw an undo: the rule applies again if the verdicts still support it."""
    return learning.redo(rule_id, by=user.name)
