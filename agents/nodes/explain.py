"""Node: the reasoner writes the summary and explanation of the verdict and action."""

from __future__ import annotations

from typing import Literal

from langgraph.types import Command

from agents.case import Reasoner
from agents.state import TicketState


class Explain:
    """Asks the reasoner to explain.

    Args:
        reasoner: the same reasoner that classified.
    """

    def __init__(self, reasoner: Reasoner) -> None:
        self.reasoner = reasoner

    def __call__(self, state: TicketState) -> Command[Literal["verify_grounding"]]:
        """Explain, then verify the explanation is grounded."""
        assert state.case and state.classification and state.action
        text = self.reasoner.explain(state.case, state.classification, state.action)
        return Command(goto="verify_grounding", update={
            "explanation": text, "usage": self.reasoner.usage(state.case)})
