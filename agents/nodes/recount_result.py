"""Node: classify again with the blind count as evidence and draft the follow-up action."""

from __future__ import annotations

from typing import Literal

from langgraph.types import Command

from agents.case import Reasoner
from agents.policy import draft_action
from agents.recount import count_evidence, follow_up
from agents.state import TicketState
from tools.registry import ticket_scope
from tools.view import WarehouseView


class RecountResult:
    """The count joins the evidence; the verdict and the action are made again.

    Args:
        reasoner: classifies (never writes).
        view: the warehouse, for what the policy's correction needs.
    """

    def __init__(self, reasoner: Reasoner, view: WarehouseView) -> None:
        self.reasoner = reasoner
        self.view = view

    def __call__(self, state: TicketState) -> Command[Literal["explain"]]:
        """Re-classify with the count, draft the follow-up, then explain it."""
        assert state.case is not None and state.count is not None and state.action is not None
        evidence = count_evidence(state.count, f"E{len(state.case.evidence) + 1}")
        case = state.case.model_copy(update={"evidence": [*state.case.evidence, evidence]})
        with ticket_scope(state.ticket_id):
            verdict = self.reasoner.classify(case)
        drafted = draft_action(verdict.root_cause, case, self.view)
        action = follow_up(state.count, verdict.root_cause, drafted.action)
        usage = self.reasoner.usage(case)
        return Command(goto="explain", update={
            "case": case, "classification": verdict, "recount": state.action, "action": action,
            "decision": None, "write_back": None, "status": None,
            "usage": usage, "reasoner": usage.verdict_by or self.reasoner.name})
