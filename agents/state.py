"""The graph's state for one ticket (resumed with an :class:`actions.decision.Decision`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from actions.decision import Decision
from actions.wms import WriteBackResult
from agents.case import CaseFile, Classification, Explanation, ReasonerUsage
from agents.recount import CountResult
from scoring.types import Incident
from warehouse.contract import Action, Severity, Ticket, TicketStatus


class TicketState(BaseModel):
    """Everything one ticket's run has established so far."""

    ticket_id: str = Field(description="the ticket (and checkpointer thread) id")
    incident: Incident = Field(description="the scorer's incident the ticket is about")
    case: CaseFile | None = Field(default=None, description="evidence, features and notes")
    classification: Classification | None = Field(default=None, description="the verdict")
    action: Action | None = Field(default=None, description="the drafted (or edited) action")
    severity: Severity | None = Field(default=None, description="from the policy")
    value_at_risk: float = Field(default=0.0, ge=0.0, description="money in question, policy's")
    item_description: str | None = Field(default=None, description="the SKU's item text")
    explanation: Explanation | None = Field(default=None, description="what a supervisor reads")
    grounding: list[str] = Field(
        default_factory=list, description="what verify_grounding did: ok, repaired, fallback")
    repaired: list[str] = Field(
        default_factory=list, description="stages already given their one repair attempt")
    usage: ReasonerUsage = Field(default_factory=ReasonerUsage, description="model cost")
    reasoner: str = Field(default="offline", description="which reasoner produced the ticket")
    decision: Decision | None = Field(default=None, description="the approval decision")
    approval_error: str | None = Field(default=None, description="why an edit was refused")
    write_back: WriteBackResult | None = Field(default=None, description="the WMS answer")
    status: TicketStatus | None = Field(default=None, description="lifecycle status")
    ticket: Ticket | None = Field(default=None, description="the contract ticket, once recorded")
    recount: Action | None = Field(default=None, description="the RECOUNT written back before "
                                   "the count, once a count has answered it")
    count: CountResult | None = Field(default=None, description="the blind count that answered "
                                      "the recount")
