"""The case file an investigation builds and a reasoner reads.

``gather_context`` (the graph's first node) fills a :class:`CaseFile` from read-only tools;
a :class:`Reasoner` turns it into a :class:`Classification` and an :class:`Explanation`.
Both reasoners (offline and OpenAI-compatible) read exactly this shape.
"""

from __future__ import annotations

from typing import Protocol

from pydantic import BaseModel, Field

from scoring.types import Incident
from warehouse.contract import Action, EvidenceItem, RootCause


class CaseFile(BaseModel):
    """Everything known about one incident, gathered by read-only tools."""

    incident: Incident = Field(description="the scorer's incident: flags with reason codes")
    evidence: list[EvidenceItem] = Field(
        default_factory=list, description="facts with sources and stable ids (E1, E2, ...)"
    )
    features: dict[str, float] = Field(
        default_factory=dict,
        description="numeric signals derived from the evidence, the offline classifier's input",
    )
    notes: list[str] = Field(
        default_factory=list, description="operator free text from the transactions: untrusted data"
    )
    tool_calls: int = Field(default=0, description="read-only tool calls spent on this case")


class Alternative(BaseModel):
    """A cause the reasoner weighed and did not choose."""

    root_cause: RootCause
    probability: float = Field(ge=0.0, le=1.0)


class Classification(BaseModel):
    """A reasoner's verdict on the root cause."""

    root_cause: RootCause
    confidence: float = Field(ge=0.0, le=1.0)
    rationale: str = Field(description="short reason, citing evidence ids")
    cited_evidence: list[str] = Field(default_factory=list, description="evidence ids relied on")
    alternatives: list[Alternative] = Field(
        default_factory=list, description="runner-up causes with their probabilities")


class Explanation(BaseModel):
    """What a supervisor reads: one summary line and a plain-language explanation."""

    summary: str
    explanation: str
    cited_evidence: list[str] = Field(default_factory=list)


class ReasonerUsage(BaseModel):
    """What one ticket cost in model calls (zero for the offline reasoner)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallback_reason: str | None = Field(
        default=None, description="why the offline reasoner took over, if it did"
    )
    verdict_by: str | None = Field(
        default=None, description="the reasoner whose verdict the ticket carries, when it is not "
                                  "the configured one's own (the offline one after a fallback)"
    )


class Reasoner(Protocol):
    """Classifies a case and explains it; never writes anything."""

    name: str

    def classify(self, case: CaseFile) -> Classification:
        """Decide the likely root cause of the case."""
        ...

    def explain(
        self, case: CaseFile, classification: Classification, action: Action
    ) -> Explanation:
        """Write the summary and explanation, citing only numbers found in the evidence."""
        ...

    def usage(self, case: CaseFile) -> ReasonerUsage:
        """Model calls, tokens and any fallback reason spent on this case so far."""
        ...
