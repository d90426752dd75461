"""Node: the verdict (then the explanation) may cite only evidence that exists and numbers in it.

Visited twice: after ``classify`` it checks the verdict and goes on to ``draft_action``;
after ``explain`` it checks the explanation and goes on to ``await_approval`` (or straight
to ``record`` when there is nothing to approve). Each stage gets one repair attempt
(:mod:`agents.grounding`), then falls back to the offline reasoner.
"""

from __future__ import annotations

from typing import Literal

from langgraph.types import Command

from agents.case import Explanation, Reasoner
from agents.grounding import (
    classification_issues,
    explanation_issues,
    repair_classification,
    repair_explanation,
)
from agents.state import TicketState
from warehouse.contract import ActionType

Next = Literal["verify_grounding", "draft_action", "await_approval", "record"]


class VerifyGrounding:
    """Checks, repairs once, falls back once.

    Args:
        offline: the reasoner whose answers replace ungrounded ones.
    """

    def __init__(self, offline: Reasoner) -> None:
        self.offline = offline

    def __call__(self, state: TicketState) -> Command[Next]:
        """Verify the latest stage's text and route on."""
        assert state.case is not None and state.classification is not None
        evidence = state.case.evidence
        if state.explanation is None:
            stage, issues = "classification", classification_issues(
                state.classification, evidence)
            after: Next = "draft_action"
        else:
            stage, issues = "explanation", explanation_issues(state.explanation, evidence)
            # a recount's follow-up goes to approval even when it closes with no variance
            after = "record" if state.action and state.action.type is ActionType.NO_ACTION \
                and state.count is None else "await_approval"
        if not issues:
            return Command(goto=after, update={"grounding": [*state.grounding, f"{stage}: ok"]})
        if stage not in state.repaired:
            update = {"repaired": [*state.repaired, stage],
                      "grounding": [*state.grounding, f"{stage}: repaired ({issues[0]})"]}
            if stage == "classification":
                fixed = repair_classification(state.classification, evidence)
                update["classification"] = fixed or self.offline.classify(state.case)
            else:
                fixed_text = repair_explanation(state.explanation, evidence)  # type: ignore[arg-type]
                update["explanation"] = fixed_text or self._offline_explanation(state)
            return Command(goto="verify_grounding", update=update)
        update = {"grounding": [*state.grounding, f"{stage}: fallback ({issues[0]})"]}
        if stage == "classification":
            update["classification"] = self.offline.classify(state.case)
        else:
            update["explanation"] = self._offline_explanation(state)
        return Command(goto=after, update=update)

    def _offline_explanation(self, state: TicketState) -> Explanation:
        assert state.case and state.classification and state.action
        return self.offline.explain(state.case, state.classification, state.action)
