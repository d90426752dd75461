"""Node: the policy turns the verdict and evidence into one validated action and a severity."""

from __future__ import annotations

from typing import Literal

from langgraph.types import Command

from agents.policy import draft_action
from agents.state import TicketState
from tools.view import WarehouseView, cell_str


class DraftAction:
    """Drafts the ticket's action with :func:`agents.policy.draft_action`.

    Args:
        view: the warehouse, for the quantities the action needs.
    """

    def __init__(self, view: WarehouseView) -> None:
        self.view = view

    def __call__(self, state: TicketState) -> Command[Literal["explain"]]:
        """Draft the action (derived facts join the evidence), then explain."""
        assert state.case is not None and state.classification is not None
        draft = draft_action(state.classification.root_cause, state.case, self.view)
        start = len(state.case.evidence) + 1
        derived = [e.model_copy(update={"id": f"E{start + i}"})
                   for i, e in enumerate(draft.derived)]
        case = state.case.model_copy(update={"evidence": [*state.case.evidence, *derived]})
        sku = state.incident.sku
        item = self.view.item(sku) if sku else None
        return Command(goto="explain", update={
            "case": case, "action": draft.action, "severity": draft.severity,
            "value_at_risk": draft.value_at_risk,
            "item_description": cell_str(item.get("description")) if item is not None else None})
