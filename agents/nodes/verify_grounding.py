"""Node: the verdict (then the explanation) may cite only evidence that exists and numbers in it.

Visited twice: after ``classify`` it checks the verdict and goes on to ``draft_action``;
after ``explain`` it checks the explanation and goes on to ``await_approval`` (or straight
to ``record`` when there is nothing to approve). Each stage gets one repair attempt
(:mod:`agents.grounding`), then falls back to the offline reasoner.
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.types import Command

from agents.case import Explanation, Reasoner
from agents.consistency import ApproverRole, contradictions
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

    An explanation that contradicts its evidence, counts or approval rule
    (:func:`agents.consistency.contradictions`) goes straight back to the offline templates.

    Args:
        offline: the reasoner whose answers replace ungrounded ones.
        approver_role: the role the approval rules require for an action, when the caller
            knows them (the service does); None skips the role check.
    """

    def __init__(self, offline: Reasoner, approver_role: ApproverRole | None = None) -> None:
        self.offline = offline
        self.approver_role = approver_role

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
            clash = self._contradictions(state)
            if clash:
                return Command(goto=after, update={
                    "grounding": [*state.grounding, f"{stage}: fallback (contradiction: "
                                                    f"{clash[0]})"],
                    "explanation": self._offline_explanation(state)})
        if not issues:
            return Command(goto=after, update={"grounding": [*state.grounding, f"{stage}: ok"]})
        if stage not in state.repaired:
            update: dict[str, Any] = {
                "repaired": [*state.repaired, stage],
                "grounding": [*state.grounding, f"{stage}: repaired ({issues[0]})"]}
            if stage == "classification":
                fixed = repair_classification(state.classification, evidence)
                update["classification"] = fixed or self.offline.classify(state.case)
                if fixed is None:
                    update["reasoner"] = self.offline.name
            else:
                fixed_text = repair_explanation(state.explanation, evidence)  # type: ignore[arg-type]
                update["explanation"] = fixed_text or self._offline_explanation(state)
            return Command(goto="verify_grounding", update=update)
        update = {"grounding": [*state.grounding, f"{stage}: fallback ({issues[0]})"]}
        if stage == "classification":
            update["classification"] = self.offline.classify(state.case)
            update["reasoner"] = self.offline.name
        else:
            update["explanation"] = self._offline_explanation(state)
        return Command(goto=after, update=update)

    def _contradictions(self, state: TicketState) -> list[str]:
        assert state.case and state.explanation and state.action
        role = self.approver_role(state.action) if self.approver_role else None
        text = f"{state.explanation.summary}\n{state.explanation.explanation}"
        return contradictions(text, state.case.evidence, required_role=role)

    def _offline_explanation(self, state: TicketState) -> Explanation:
        assert state.case and state.classification and state.action
        return self.offline.explain(state.case, state.classification, state.action)
