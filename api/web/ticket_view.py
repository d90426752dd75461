"""A ticket as one person sees it: its money, its item's name, who must act, where it stands.

The ticket fields of contract section 5 that the ``tickets`` work adds (``value_at_risk``,
``kind``, ``parent_ticket_id``, ``child_count``) are read defensively: a column when the
ticket table has one, else the stored ticket's extra fields, else "unknown". Who must act
comes from :mod:`api.approvals`, the same rules the decision applies.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agents.narrative import label_of, signals
from api.approvals import ApprovalPolicy, action_value, approvals_needed, required_role
from api.auth import Principal, Role
from api.tickets import TicketRecord, TicketSummary, summarize
from warehouse.contract import Action, ActionType, EvidenceItem, TicketStatus

STATE_LABELS = {
    TicketStatus.PENDING_APPROVAL.value: "Proposed",
    TicketStatus.APPROVED.value: "Approved",
    TicketStatus.WRITTEN_BACK.value: "Written",
    TicketStatus.WRITE_BACK_FAILED.value: "Failed",
    TicketStatus.REJECTED.value: "Rejected",
    TicketStatus.NO_ACTION.value: "No action",
}
"""Where a ticket's action stands, in one word."""
ACTION_WORDS = {
    ActionType.RECOUNT.value: "Recount",
    ActionType.ADJUST_INVENTORY.value: "Adjust stock",
    ActionType.CORRECT_MASTER_DATA.value: "Correct item master",
    ActionType.RESLOT.value: "Reslot",
    ActionType.VOID_DUPLICATE.value: "Void duplicate",
    ActionType.SUPPLIER_CLAIM.value: "Supplier claim",
    ActionType.INVESTIGATE.value: "Investigate",
    ActionType.QUALITY_HOLD.value: "Quality hold",
    ActionType.NO_ACTION.value: "No action",
}


def ticket_field(record: TicketRecord, name: str, default: Any = None) -> Any:
    """A ticket field that may be a column or, on older tickets, an extra field."""
    if name in TicketRecord.model_fields:
        value = getattr(record, name)
    else:
        value = (record.extra or {}).get(name)
    return default if value is None else value


def value_at_risk(record: TicketRecord) -> float | None:
    """Money in question (contract section 5), None where the ticket does not say."""
    value = ticket_field(record, "value_at_risk")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class QueueRow(BaseModel):
    """One queue line for one person."""

    t: TicketSummary
    value_at_risk: float | None
    description: str | None
    kind: str
    parent_ticket_id: str | None
    child_count: int
    required_role: Role
    approvals_needed: int
    mine: bool
    state: str
    fix: str

    @property
    def assignee(self) -> str:
        """Who acts next: the role the approval needs while proposed, else nobody."""
        return self.required_role.value if self.state in ("Proposed", "Failed") else "—"


def fix_of(action: Action) -> str:
    """The fix a ticket proposes, as a grouping key: action and what it acts on."""
    params = action.params
    target = params.get("sku") or params.get("txn_id") or params.get("ref") or ""
    where = params.get("location") or params.get("from_location") or ", ".join(
        params.get("locations") or [])
    return " ".join(str(p) for p in (ACTION_WORDS.get(action.type.value, action.type.value),
                                     target, where) if p)


def may_act(user: Principal, role_needed: Role, record: TicketRecord) -> bool:
    """Whether ``user`` can act on the ticket now (approve it, or retry its write-back)."""
    if record.status not in (TicketStatus.PENDING_APPROVAL.value,
                             TicketStatus.WRITE_BACK_FAILED.value):
        return False
    if record.edited_by == user.name:
        return False
    return user.role.at_least(role_needed)


def queue_row(record: TicketRecord, user: Principal, policy: ApprovalPolicy,
              descriptions: dict[str, str | None]) -> QueueRow:
    """The queue line of ``record`` as ``user`` sees it."""
    action = Action.model_validate(record.action)
    value = action_value(action, record.unit_cost)
    role = required_role(action, value=value, policy=policy)
    return QueueRow(
        t=summarize(record), value_at_risk=value_at_risk(record),
        description=descriptions.get(record.sku or ""),
        kind=str(ticket_field(record, "kind", "incident")),
        parent_ticket_id=ticket_field(record, "parent_ticket_id"),
        child_count=int(ticket_field(record, "child_count", 0) or 0),
        required_role=role, approvals_needed=approvals_needed(action, value=value, policy=policy),
        mine=may_act(user, role, record), state=STATE_LABELS.get(record.status, record.status),
        fix=fix_of(action),
    )


def evidence_label(item: EvidenceItem) -> str | None:
    """The human label of the reason code an evidence fact states, None for other facts."""
    found = signals([item])
    return label_of(found[0].code) if found else None
