"""Approval rules: roles per action, no self-approval of edits, dual approval, digest binding."""

from __future__ import annotations

import pytest

from api.approvals import (
    Approval,
    ApprovalPolicy,
    action_value,
    approvals_needed,
    check_approval,
    required_role,
)
from api.auth import Role
from warehouse.canonical import action_digest
from warehouse.contract import Action

POLICY = ApprovalPolicy(supervisor_adjust_value=500, dual_approval_value=5000)


def adjust(qty: float) -> Action:
    return Action(type="ADJUST_INVENTORY",
                  params={"sku": "A", "location": "L", "qty_delta": qty, "reason_code": "LOST"})


ACTIONS = {
    "RECOUNT": Action(type="RECOUNT", params={"locations": ["L"]}),
    "INVESTIGATE": Action(type="INVESTIGATE", params={"user_id": "u1"}),
    "QUALITY_HOLD": Action(type="QUALITY_HOLD", params={"sku": "A", "location": "L"}),
    "RESLOT": Action(type="RESLOT", params={"sku": "A", "from_location": "L",
                                            "to_location": "M"}),
    "VOID_DUPLICATE": Action(type="VOID_DUPLICATE", params={"txn_id": "T1"}),
    "NO_ACTION": Action(type="NO_ACTION"),
    "small ADJUST": adjust(-10),  # 10 x 20.0 = 200
    "large ADJUST": adjust(-100),  # 100 x 20.0 = 2000
    "huge ADJUST": adjust(-1000),  # 20000: two approvers
    "CORRECT_MASTER_DATA": Action(type="CORRECT_MASTER_DATA",
                                  params={"sku": "A", "field": "case_qty", "old": 12, "new": 6}),
    "SUPPLIER_CLAIM": Action(type="SUPPLIER_CLAIM", params={"ref": "PO1", "sku": "A",
                                                            "qty_delta": -5}),
}
# who may give (one of) the approval(s): the RBAC matrix
MATRIX = {
    "RECOUNT": {"supervisor", "controller", "admin"},
    "INVESTIGATE": {"supervisor", "controller", "admin"},
    "QUALITY_HOLD": {"supervisor", "controller", "admin"},
    "RESLOT": {"supervisor", "controller", "admin"},
    "VOID_DUPLICATE": {"supervisor", "controller", "admin"},
    "NO_ACTION": {"supervisor", "controller", "admin"},
    "small ADJUST": {"supervisor", "controller", "admin"},
    "large ADJUST": {"controller", "admin"},
    "huge ADJUST": {"controller", "admin"},
    "CORRECT_MASTER_DATA": {"controller", "admin"},
    "SUPPLIER_CLAIM": {"controller", "admin"},
}


@pytest.mark.parametrize("name", list(ACTIONS))
@pytest.mark.parametrize("role", list(Role))
def test_rbac_matrix(name: str, role: Role) -> None:
    action = ACTIONS[name]
    verdict = check_approval(approver="pat", role=role, action=action,
                             value=action_value(action, 20.0), edited_by=None, prior=[],
                             policy=POLICY)
    assert verdict.allowed is (role.value in MATRIX[name]), verdict.reason
    if not verdict.allowed:
        assert "pat" in verdict.reason or "viewers" in verdict.reason


def test_values_and_thresholds() -> None:
    assert action_value(adjust(-10), 20.0) == 200
    assert action_value(adjust(-10), None) is None
    assert action_value(ACTIONS["RECOUNT"], None) == 0
    assert action_value(Action(type="ADJUST_INVENTORY", params={}), 3.0) is None
    assert required_role(adjust(-25), value=500, policy=POLICY) is Role.SUPERVISOR
    assert required_role(adjust(-26), value=520, policy=POLICY) is Role.CONTROLLER
    assert required_role(adjust(-1), value=None, policy=POLICY) is Role.CONTROLLER
    assert approvals_needed(adjust(-250), value=5000, policy=POLICY) == 1
    assert approvals_needed(adjust(-251), value=5020, policy=POLICY) == 2
    assert approvals_needed(ACTIONS["SUPPLIER_CLAIM"], value=0, policy=POLICY) == 1


def test_nobody_approves_their_own_edit() -> None:
    action = ACTIONS["RECOUNT"]
    own = check_approval(approver="sam", role=Role.ADMIN, action=action, value=0,
                         edited_by="sam", prior=[], policy=POLICY)
    assert not own.allowed and "own edit" in own.reason
    other = check_approval(approver="kim", role=Role.SUPERVISOR, action=action, value=0,
                           edited_by="sam", prior=[], policy=POLICY)
    assert other.allowed and other.complete


def test_large_adjustment_needs_two_different_approvers() -> None:
    action = ACTIONS["huge ADJUST"]
    value = action_value(action, 20.0)
    first = check_approval(approver="ctl1", role=Role.CONTROLLER, action=action, value=value,
                           edited_by=None, prior=[], policy=POLICY)
    assert first.allowed and not first.complete and "1 more" in first.reason
    recorded = [Approval(approver="ctl1", role=Role.CONTROLLER, digest=first.digest)]
    twice = check_approval(approver="ctl1", role=Role.CONTROLLER, action=action, value=value,
                           edited_by=None, prior=recorded, policy=POLICY)
    assert not twice.allowed and not twice.complete
    second = check_approval(approver="adm", role=Role.ADMIN, action=action, value=value,
                            edited_by=None, prior=recorded, policy=POLICY)
    assert second.allowed and second.complete
    assert second.approvers == ["ctl1", "adm"]


def test_approval_is_bound_to_the_exact_payload() -> None:
    original = adjust(-1000)
    recorded = [Approval(approver="ctl1", role=Role.CONTROLLER, digest=action_digest(original))]
    edited = adjust(-900)  # 18000, still two approvers
    verdict = check_approval(approver="adm", role=Role.ADMIN, action=edited, value=18000,
                             edited_by="ctl2", prior=recorded, policy=POLICY)
    assert verdict.allowed and not verdict.complete
    assert verdict.stale_approvals == 1 and verdict.approvers == ["adm"]
    assert verdict.digest == action_digest(edited) != action_digest(original)
    # the same payload with keys in another order is the same digest
    same = Action(type="ADJUST_INVENTORY", params=dict(reversed(list(original.params.items()))))
    assert action_digest(same) == action_digest(original)


def test_policy_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from warehouse.settings import get_settings

    monkeypatch.setenv("TALLY_DUAL_APPROVAL_VALUE", "100")
    get_settings.cache_clear()
    policy = ApprovalPolicy.from_settings()
    assert policy.dual_approval_value == 100
    assert approvals_needed(adjust(-10), value=200, policy=policy) == 2
