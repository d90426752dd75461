"""Who may approve which action, and when an action has enough approvals to write back.

Pure functions over plain values, so the decision endpoint and the tests apply exactly the
same rules:

- viewers never approve;
- supervisors approve RECOUNT, INVESTIGATE, QUALITY_HOLD, RESLOT, VOID_DUPLICATE, NO_ACTION
  and ADJUST_INVENTORY up to ``supervisor_adjust_value`` (eaches x unit cost);
- controllers also approve CORRECT_MASTER_DATA, SUPPLIER_CLAIM and larger adjustments
  (and adjustments whose value is unknown because the item has no unit cost);
- admins approve anything;
- nobody approves an action they edited themselves;
- an adjustment worth more than ``dual_approval_value`` needs two different approvers;
- an approval is bound to the digest of the exact action payload: once the action is
  edited, earlier approvals no longer count.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from api.auth import Role
from warehouse.canonical import action_digest
from warehouse.contract import Action, ActionType
from warehouse.settings import Settings, get_settings

SUPERVISOR_ACTIONS = frozenset(
    {
        ActionType.RECOUNT,
        ActionType.INVESTIGATE,
        ActionType.QUALITY_HOLD,
        ActionType.RESLOT,
        ActionType.VOID_DUPLICATE,
        ActionType.NO_ACTION,
    }
)


class ApprovalPolicy(BaseModel):
    """The value limits the approval rules depend on (TALLY_* settings)."""

    supervisor_adjust_value: float = Field(ge=0)
    dual_approval_value: float = Field(ge=0)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ApprovalPolicy:
        """The policy configured for this process."""
        settings = settings or get_settings()
        return cls(
            supervisor_adjust_value=settings.supervisor_adjust_value,
            dual_approval_value=settings.dual_approval_value,
        )


class Approval(BaseModel):
    """One recorded approval: who, in which role, of which exact payload."""

    approver: str
    role: Role
    digest: str


class ApprovalVerdict(BaseModel):
    """Whether one approval may be recorded and whether the action may now be written back."""

    allowed: bool
    reason: str
    digest: str = Field(description="digest of the action this approval is bound to")
    required_role: Role
    approvals_needed: int
    approvers: list[str] = Field(description="distinct approvers of this exact payload so far")
    stale_approvals: int = Field(description="approvals of an earlier version, not counted")

    @property
    def complete(self) -> bool:
        """Enough distinct approvals of this exact payload to write it back."""
        return len(self.approvers) >= self.approvals_needed


def action_value(action: Action, unit_cost: float | None) -> float | None:
    """The money an adjustment moves (|qty_delta| eaches x unit cost); None if unknown.

    Non-adjustments are worth 0 for approval purposes.
    """
    if ActionType(action.type) is not ActionType.ADJUST_INVENTORY:
        return 0.0
    try:
        qty = abs(float(action.params["qty_delta"]))
    except (KeyError, TypeError, ValueError):
        return None
    if unit_cost is None:
        return None
    return qty * unit_cost


def required_role(action: Action, *, value: float | None, policy: ApprovalPolicy) -> Role:
    """The least role that may approve ``action`` worth ``value``."""
    kind = ActionType(action.type)
    if kind in SUPERVISOR_ACTIONS:
        return Role.SUPERVISOR
    if kind is ActionType.ADJUST_INVENTORY:
        if value is not None and value <= policy.supervisor_adjust_value:
            return Role.SUPERVISOR
        return Role.CONTROLLER
    if kind in (ActionType.CORRECT_MASTER_DATA, ActionType.SUPPLIER_CLAIM):
        return Role.CONTROLLER
    return Role.ADMIN


def approvals_needed(action: Action, *, value: float | None, policy: ApprovalPolicy) -> int:
    """How many different people must approve ``action``."""
    if (
        ActionType(action.type) is ActionType.ADJUST_INVENTORY
        and value is not None
        and value > policy.dual_approval_value
    ):
        return 2
    return 1


def check_approval(
    *,
    approver: str,
    role: Role,
    action: Action,
    value: float | None,
    edited_by: str | None,
    prior: Sequence[Approval],
    policy: ApprovalPolicy,
) -> ApprovalVerdict:
    """Decide whether ``approver`` may approve ``action`` now, given the approvals so far.

    Args:
        approver: who is approving.
        role: their role.
        action: the exact action they are approving (after any edit).
        value: the action's value from :func:`action_value`.
        edited_by: who last edited the action's payload, if anyone did.
        prior: approvals already recorded for this ticket, of any version of the action.
        policy: the value limits.

    Returns:
        The verdict; when ``allowed``, ``approvers`` already includes this approver.
    """
    digest = action_digest(action)
    needed_role = required_role(action, value=value, policy=policy)
    needed = approvals_needed(action, value=value, policy=policy)
    current = [p for p in prior if p.digest == digest]
    approvers = list(dict.fromkeys(p.approver for p in current))

    def verdict(allowed: bool, reason: str) -> ApprovalVerdict:
        return ApprovalVerdict(
            allowed=allowed,
            reason=reason,
            digest=digest,
            required_role=needed_role,
            approvals_needed=needed,
            approvers=[*approvers, approver] if allowed else approvers,
            stale_approvals=len(prior) - len(current),
        )

    worth = "of unknown value" if value is None else f"worth {value:.2f}"
    if role is Role.VIEWER:
        return verdict(False, "viewers cannot approve actions")
    if not role.at_least(needed_role):
        return verdict(
            False, f"{action.type} {worth} needs a {needed_role} or above; {approver} is a {role}"
        )
    if edited_by is not None and edited_by == approver:
        return verdict(False, f"{approver} edited this action and cannot approve their own edit")
    if approver in approvers:
        return verdict(False, f"{approver} has already approved this exact action")
    remaining = needed - len(approvers) - 1
    if remaining > 0:
        return verdict(True, f"approved by {approver}; {remaining} more approver(s) needed")
    return verdict(True, f"approved by {approver}; ready to write back")
