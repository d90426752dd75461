"""Explanations that contradict their evidence, counts or approval rule go back to templates."""

from __future__ import annotations

from agents.case import CaseFile, Classification, Explanation
from agents.consistency import contradictions, evidence_counts
from agents.narrative import label_of, mechanism, story
from agents.nodes.verify_grounding import VerifyGrounding
from agents.reasoners import OfflineReasoner
from agents.state import TicketState
from scoring.types import Incident
from warehouse.contract import Action, EvidenceItem, RootCause, Severity


def write_offs(n: int) -> list[EvidenceItem]:
    """``n`` reason-coded write-offs by one user, as the scorer reports them."""
    return [EvidenceItem(id=f"E{i}", source="scorer:adjustments",
                         fact=f"WRITE_OFF_PATTERN user=OP472 writeoffs_same_item={i} "
                              f"window_days=14 value=70.7 high_value=True off_hours=True "
                              f"user_rate_per_1k=9.1 peer_median_per_1k=2.5 reason_code=LOST")
            for i in range(1, n + 1)]


WEIGHINGS = [
    EvidenceItem(id="E1", source="scorer:weight",
                 fact="WEIGHT_RATIO_CONSTANT ratio=0.496 rows=6 users=4"),
    *[EvidenceItem(id=f"E{i}", source="transactions",
                   fact=f"TX{i} PICK 3 EA of SN1 at A01 by OP{i}; weighed 0.59 kg")
      for i in range(2, 8)],
]


def test_without_a_recorded_cause_contradicts_reason_coded_write_offs() -> None:
    evidence = write_offs(6)
    problems = contradictions("Stock disappeared without a recorded cause.", evidence)
    assert problems and "6 write-off(s) carry reason codes" in problems[0]
    assert contradictions("Stock disappeared without a recorded cause.",
                          [EvidenceItem(id="E1", source="count_history",
                                        fact="Cycle counts of SN1: 2 counts")]) == []


def test_naming_the_wrong_approver_is_a_contradiction() -> None:
    text = "What to do: correct master data, once a supervisor approves it."
    assert contradictions(text, WEIGHINGS, required_role="controller") == [
        "says a supervisor approves but the approval rules need a controller"]
    assert contradictions(text, WEIGHINGS, required_role="supervisor") == []
    assert contradictions("It needs approval by a controller.", WEIGHINGS,
                          required_role="supervisor")
    assert contradictions(text, WEIGHINGS) == []  # role unknown: nothing to check against


def test_a_count_the_evidence_does_not_show_is_a_contradiction() -> None:
    assert evidence_counts(WEIGHINGS)["weighing"] == {6}
    problems = contradictions("Across 4 weighings the weight was half the master's.", WEIGHINGS)
    assert problems == ["says 4 weighings but the evidence shows 6"]
    assert contradictions("Across 6 weighings the weight was half the master's.", WEIGHINGS) == []
    assert contradictions("User OP472 wrote it off four times: five write-offs.",
                          write_offs(6)) == ["says five write-offs but the evidence shows 6"]


def test_a_quoted_evidence_fact_is_not_prose() -> None:
    evidence = [*WEIGHINGS, EvidenceItem(id="E9", source="policy",
                                         fact="4 weighings of SN1 average 0.494 times the master")]
    assert contradictions("4 weighings of SN1 average 0.494 times the master [E9].",
                          evidence) == []


def test_story_tells_the_mechanism_with_its_numbers_and_labels() -> None:
    lines = story(RootCause.SHRINKAGE, write_offs(6))
    assert lines[0].startswith("User OP472 wrote this item off 6 times within 14 days; "
                               "the reason codes recorded were lost (6). All of them were "
                               "off-shift.")
    assert lines[0].endswith("[E1] [E2] [E3] [E4] [E5] [E6].")
    assert "424.2" not in " ".join(lines)  # a sum no fact holds is never told
    money = EvidenceItem(id="E7", source="policy", fact=(
        "value at risk 424.20 (eaches in doubt x unit cost 70.70 of SN1 in the item master)"))
    assert story(RootCause.SHRINKAGE, [*write_offs(6), money])[-1] == (
        "Value at risk 424.20 (eaches in doubt x unit cost 70.70 of SN1 in the item master). [E7]")
    assert mechanism(RootCause.SHRINKAGE, write_offs(2)) == "WRITE_OFF_PATTERN"
    assert mechanism(RootCause.MIS_SCAN, write_offs(2)) is None
    assert label_of("WRITE_OFF_PATTERN") == "repeated write-offs"


def _state(evidence: list[EvidenceItem], text: str, action: Action) -> TicketState:
    incident = Incident(incident_id="INC-1", txn_ids=["TX1"], sku="SN1", location="A01",
                        flags=[], risk_score=0.9, severity=Severity.STOP)
    return TicketState(
        ticket_id="T-1", incident=incident, case=CaseFile(incident=incident, evidence=evidence),
        classification=Classification(root_cause=RootCause.SHRINKAGE, confidence=0.95,
                                      rationale="write-offs [E1]", cited_evidence=["E1"]),
        action=action, explanation=Explanation(summary="Shrinkage at SN1", explanation=text),
        grounding=["classification: ok"])


def test_a_contradicting_explanation_falls_back_to_the_template_path() -> None:
    action = Action(type="ADJUST_INVENTORY", params={"sku": "SN1", "location": "A01",
                                                     "qty_delta": -6, "reason_code": "LOST"})
    state = _state(write_offs(6), "Six units vanished without a recorded cause [E1]. "
                                  "It can be written off once a supervisor approves it.", action)
    node = VerifyGrounding(OfflineReasoner(), approver_role=lambda a: "controller")
    command = node(state)
    assert command.goto == "await_approval"
    assert command.update["grounding"][-1].startswith("explanation: fallback (contradiction: ")
    fixed = command.update["explanation"].explanation
    assert "without a recorded cause" not in fixed and "supervisor approves" not in fixed
    assert contradictions(fixed, write_offs(6), required_role="controller") == []
    honest = _state(write_offs(6), "User OP472 wrote SN1 off six times [E1].", action)
    assert node(honest).update["grounding"][-1] == "explanation: ok"
