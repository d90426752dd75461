"""Eval metrics on hand-built tickets and labels whose answers were worked out by hand."""

from __future__ import annotations

import pytest

from evals.expectations import Expectation, expectations_from_labels
from evals.metrics import (
    MISSED,
    detection,
    injection_checks,
    judge,
    risk_auc,
    score,
    status_checks,
    ungrounded_numbers,
)
from warehouse.contract import Action, ActionType, EvidenceItem, RootCause, Severity, Ticket

R, A = RootCause, ActionType


def ticket(tid: str, txns: list[str], cause: RootCause, action: ActionType, *,
           confidence: float = 0.6, risk: float = 0.5, explanation: str = "",
           facts: tuple[str, ...] = (), status: str | None = None) -> Ticket:
    return Ticket(
        ticket_id=tid, txn_ids=txns, sku=None, location=None, risk_score=risk,
        severity=Severity.REVIEW, root_cause=cause, confidence=confidence, summary="s",
        explanation=explanation, evidence=[EvidenceItem(fact=f, source="t") for f in facts],
        action=Action(type=action),
        status=status or ("NO_ACTION" if action is A.NO_ACTION else "PENDING_APPROVAL"),
    )


def case(cid: str, cause: RootCause, txns: list[str], action: ActionType,
         **kw: object) -> Expectation:
    return Expectation(case_id=cid, root_cause=cause, txn_ids=frozenset(txns),
                       actions=frozenset({action}), **kw)  # type: ignore[arg-type]


# Four labelled cases and five tickets:
#   c1 MIS_SCAN    <- t1 MIS_SCAN (right), and t5 also touches it with less overlap
#   c2 SHRINKAGE   <- t2 says SLOTTING (wrong cause, wrong action, confident)
#   c3 UOM         <- no ticket (missed)
#   c4 LEGITIMATE  <- no ticket (rightly silent)
#   t3 covers nothing, says RECEIVING_ERROR (false alarm); t4 covers nothing, dismissed
CASES = [
    case("c1", R.MIS_SCAN, ["a", "b"], A.ADJUST_INVENTORY),
    case("c2", R.SHRINKAGE, ["c"], A.INVESTIGATE),
    case("c3", R.UOM_MASTER_DATA, ["d"], A.CORRECT_MASTER_DATA),
    case("c4", R.LEGITIMATE, ["e"], A.NO_ACTION),
]
TICKETS = [
    ticket("t1", ["a", "b"], R.MIS_SCAN, A.ADJUST_INVENTORY, confidence=0.9),
    ticket("t2", ["c"], R.SLOTTING, A.RESLOT, confidence=0.85),
    ticket("t3", ["x"], R.RECEIVING_ERROR, A.SUPPLIER_CLAIM),
    ticket("t4", ["y"], R.LEGITIMATE, A.NO_ACTION),
    ticket("t5", ["b", "z"], R.SYSTEM_SYNC, A.VOID_DUPLICATE, risk=0.99),
]


def test_judge_picks_best_overlap_and_treats_stray_tickets_as_legitimate() -> None:
    units = judge("d", TICKETS, CASES)
    by_case = {u.expectation.case_id: u for u in units if u.expectation}
    assert by_case["c1"].ticket.ticket_id == "t1"  # 2 shared ids beat t5's higher risk
    assert by_case["c1"].correct and by_case["c1"].action_correct
    assert not by_case["c2"].correct and by_case["c2"].action_correct is False
    assert by_case["c3"].predicted is None and by_case["c3"].action_correct is None
    assert by_case["c4"].predicted is R.LEGITIMATE and by_case["c4"].action_correct
    strays = [u for u in units if u.expectation is None]
    assert sorted(u.ticket.ticket_id for u in strays) == ["t3", "t4"]  # t5 touches c1
    assert all(u.truth is R.LEGITIMATE for u in strays)


def test_scores_match_hand_computation() -> None:
    units = judge("d", TICKETS, CASES)
    det = detection({"d": TICKETS}, {"d": CASES})
    s = score(units, det, TICKETS, status_checks("d", TICKETS))
    # actionable cases c1 c2 c3: c1, c2 covered by actionable tickets -> 2/3
    assert (det.actionable_cases, det.detected, det.covered) == (3, 2, 2)
    assert s.detection.recall == pytest.approx(2 / 3)
    # actionable tickets t1 t2 t3 t5; t3 covers nothing -> 1/4 (t5 shares b with c1)
    assert s.detection.false_alarm_share == pytest.approx(1 / 4)
    # units: c1 MIS->MIS, c2 SHR->SLO, c3 UOM->MISSED, c4 LEG->LEG, t3 LEG->REC, t4 LEG->LEG
    assert s.confusion[R.SHRINKAGE][R.SLOTTING.value] == 1
    assert s.confusion[R.UOM_MASTER_DATA][MISSED] == 1
    assert s.confusion[R.LEGITIMATE][R.LEGITIMATE.value] == 2
    assert s.confusion[R.LEGITIMATE][R.RECEIVING_ERROR.value] == 1
    assert s.classes[R.MIS_SCAN].f1 == 1.0
    leg = s.classes[R.LEGITIMATE]  # tp 2, predicted 2, support 3
    assert (leg.precision, leg.recall) == (1.0, pytest.approx(2 / 3))
    assert leg.f1 == pytest.approx(0.8)
    # classes present: MIS 1, SHR 0, UOM 0, LEG 0.8, SLO (predicted) 0, REC (predicted) 0
    assert s.macro_f1 == pytest.approx(1.8 / 6)
    # action: c1 ok, c2 wrong, c4 ok (silent NO_ACTION) -> 2/3
    assert s.action_accuracy == pytest.approx(2 / 3)
    # tickets judged: t1 right@0.9, t2 wrong@0.85, t3 wrong@0.6, t4 right -> 1/4
    assert s.false_confidence == pytest.approx(1 / 4)
    assert s.safety == 1.0 and s.tickets == 5


def test_ambiguous_case_accepts_alternatives_and_checks_confidence_and_mentions() -> None:
    exp = case("amb", R.SLOTTING, ["p"], A.RECOUNT, also_causes=frozenset({R.MIS_SCAN}),
               confidence=(0.0, 0.7), must_mention=("B-01-02", "12"))
    t = ticket("t", ["p"], R.MIS_SCAN, A.RECOUNT, confidence=0.75,
               explanation="Counted 12 at b-01-02.")
    (u,) = judge("d", [t], [exp])
    assert u.correct and u.truth is R.MIS_SCAN
    assert u.confidence_in_range is False and u.missing_mentions == []
    s = score([u], detection({"d": [t]}, {"d": [exp]}), [t], [])
    assert s.case_failures == ["d/amb: confidence 0.75 outside 0.00-0.70"]


def test_grounding_finds_numbers_missing_from_evidence() -> None:
    t = ticket("t", ["a"], R.RECEIVING_ERROR, A.SUPPLIER_CLAIM,
               explanation="Receipt TX-17 of SKU BE33756 at A-01-02 posted 40 of 48 [E1]; "
                           "weight 14.2 kg, short by 8, about 1,200 eaches, 3 days.",
               facts=("ASN-0042 expected 48, received 40", "weight 14.237 kg",
                      "variance -8", "on hand 1200"))
    assert ungrounded_numbers(t) == ["3"]


def test_status_and_injection_checks() -> None:
    approved = ticket("t", ["a"], R.SHRINKAGE, A.INVESTIGATE, status="APPROVED")
    dismissed_pending = ticket("u", ["b"], R.LEGITIMATE, A.NO_ACTION, status="PENDING_APPROVAL")
    checks = status_checks("d", [approved, dismissed_pending, TICKETS[0]])
    assert [c.passed for c in checks] == [False, False, True]

    flipped = ticket("t1", ["a", "b"], R.LEGITIMATE, A.NO_ACTION)
    checks = injection_checks("d", TICKETS[:2], [flipped, TICKETS[1]])
    assert [c.passed for c in checks if c.name == "injection_changes_nothing"].count(False) == 1
    assert all(c.passed for c in injection_checks("d", TICKETS, list(reversed(TICKETS))))
    lost = injection_checks("d", TICKETS, TICKETS[:3])
    assert not lost[0].passed


def test_expectations_from_labels_and_yaml_errors() -> None:
    import pandas as pd

    labels = pd.DataFrame([{"case_id": "C1", "root_cause": "SYSTEM_SYNC", "txn_ids": "T1 T2",
                            "sku": "S", "location": float("nan"), "action": "VOID_DUPLICATE"}])
    (exp,) = expectations_from_labels(labels)
    assert exp.txn_ids == {"T1", "T2"} and exp.location is None and exp.actionable
    with pytest.raises(ValueError, match="cases/x: missing field txn_ids"):
        Expectation.from_mapping({"case_id": "x", "root_cause": "SHRINKAGE",
                                  "action": "INVESTIGATE"}, where="cases/x")
    with pytest.raises(ValueError, match="cases/y: .*BOGUS"):
        Expectation.from_mapping({"case_id": "y", "root_cause": "BOGUS", "txn_ids": ["a"],
                                  "action": "RECOUNT"}, where="cases/y")


def test_a_number_the_evidence_writes_with_an_exponent_grounds_the_explanation() -> None:
    t = ticket("t", ["a"], R.SHRINKAGE, A.INVESTIGATE, explanation="short by 38, worth 3780",
               facts=("COUNT_VARIANCE variance=-38 value=3.78e+03",))
    assert ungrounded_numbers(t) == []
    wrong = ticket("w", ["a"], R.SHRINKAGE, A.INVESTIGATE, explanation="worth 3790",
                   facts=("COUNT_VARIANCE value=3.78e+03",))
    assert ungrounded_numbers(wrong) == ["3790"]


def test_risk_auc_is_the_share_of_real_over_false_alarm_pairs() -> None:
    exps = [case("r1", RootCause.MIS_SCAN, ["a"], A.RECOUNT),
            case("r2", RootCause.SHRINKAGE, ["b"], A.INVESTIGATE),
            case("l1", RootCause.LEGITIMATE, ["c"], A.NO_ACTION)]
    tickets = [ticket("t1", ["a"], RootCause.MIS_SCAN, A.RECOUNT, risk=0.9),
               ticket("t2", ["b"], RootCause.SHRINKAGE, A.INVESTIGATE, risk=0.3),
               ticket("t3", ["c"], RootCause.LEGITIMATE, A.NO_ACTION, risk=0.5),
               ticket("t4", ["z"], RootCause.SLOTTING, A.RESLOT, risk=0.3)]
    # real 0.9 and 0.3 against others 0.5 and 0.3: wins 0.9>0.5, 0.9>0.3, tie 0.3=0.3
    assert risk_auc(judge("d", tickets, exps)) == pytest.approx(2.5 / 4)
    assert risk_auc(judge("d", tickets[:2], exps[:2])) == 0.5  # nothing to rank against
