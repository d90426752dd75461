"""Node: the reasoner's verdict on the root cause (tool calls counted against the ticket)."""

from __future__ import annotations

from typing import Literal

from langgraph.types import Command

from agents.case import Reasoner
from agents.state import TicketState
from tools.registry import ticket_scope


class Classify:
    """Asks the reasoner for a root cause.

    Args:
        reasoner: offline or OpenAI-compatible; it never holds a write tool.
    """

    def __init__(self, reasoner: Reasoner) -> None:
        self.reasoner = reasoner

    def __call__(self, state: TicketState) -> Command[Literal["verify_grounding"]]:
        """Classify, then verify the verdict is grounded."""
        assert state.case is not None
        with ticket_scope(state.ticket_id):
            verdict = self.reasoner.classify(state.case)
        usage = self.reasoner.usage(state.case)
        return Command(goto="verify_grounding", update={
            "classification": verdict, "usage": usage,
            "reasoner": usage.verdict_by or self.reasoner.name})
