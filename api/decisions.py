"""What a supervisor's decision on a ticket does: approve, reject, or edit the action.

Each decision is one transaction holding the ticket's row lock (:mod:`api.ticket_lock`):
it re-reads the ticket, re-checks its status, the digest the decider reviewed and the
approvals on record, and only then writes the approval, the history step, the audit record
and the new status together. A decision that loses a race (the ticket was rejected,
edited or approved meanwhile) is refused with 409 and leaves nothing behind. The rules are
:mod:`api.approvals`' pure functions.

- ``approve`` names the ``action_digest`` the approver reviewed; if the action has changed
  since (someone edited it), the approval is refused: approvals bind to exact payloads. The
  value limits apply to the action as it will be written: its own SKU's unit cost, its
  quantity and its type. The approval that completes the ticket enqueues its write-back
  in the same transaction (:mod:`actions.outbox`); the write-back then runs at once, and
  after a crash by itself (:class:`api.writeback.WriteBackRunner`).
- ``edit`` (edit-and-approve) replaces the action, once the policy's fit-to-case check
  (:func:`agents.policy.refusal`) accepts it. Nobody approves their own edit, so the
  editor's sign-off is the edit itself and the new payload waits for another approver;
  earlier approvals were of another digest and no longer count.
- ``reject`` needs a ``reason`` (kept on the ticket) and closes it without a write-back.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy import bindparam, inspect, text
from sqlmodel import Session

from actions.audit import AuditKind
from actions.decision import Decision, DecisionKindName
from actions.outbox import enqueue
from agents.case import CaseFile
from agents.policy import refusal
from api.approvals import ApprovalPolicy, action_value, check_approval
from api.auth import Principal, Role
from api.errors import ApiError, Conflict, Forbidden, NotFound
from api.ticket_lock import bump, lock_ticket
from api.tickets import (
    EventKind,
    TicketApproval,
    TicketDetail,
    TicketEvent,
    TicketRecord,
    approvals_of,
    detail_of,
    now_iso,
)
from api.writeback import WriteBackRunner, correlation_of
from scoring.types import Incident
from warehouse.action_params import validate_params
from warehouse.canonical import action_digest
from warehouse.contract import Action, RootCause, Severity, TicketStatus

RETRYABLE = frozenset({TicketStatus.WRITE_BACK_FAILED.value})
"""Statuses a person may retry a write-back from: approved, tried, not landed."""


class DecisionKind(StrEnum):
    """What the decider does."""

    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"


class DecisionIn(BaseModel):
    """A decision on one ticket."""

    decision: DecisionKind
    comment: str = Field(default="", max_length=2000, description="why; kept in the history")
    reason: str = Field(default="", max_length=2000,
                        description="reject: why it is rejected (required, kept on the ticket)")
    action_digest: str | None = Field(
        default=None, pattern="^[0-9a-f]{64}$",
        description="approve: the digest of the action you reviewed (GET /v1/tickets/{id})",
    )
    action: Action | None = Field(default=None, description="edit: the corrected action")

    @field_validator("action")
    @classmethod
    def _finite(cls, action: Action | None) -> Action | None:
        """Refuse NaN and infinite numbers anywhere in the params (they cannot be digested)."""
        if action is not None and not _all_finite(action.params):
            raise ValueError("action params must be finite numbers (no NaN or Infinity)")
        return action


def _all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_all_finite(v) for v in value)
    return True


class DecisionOutcome(BaseModel):
    """Where the ticket stands after a decision."""

    message: str
    required_role: Role | None = None
    approvals_needed: int | None = None
    ticket: TicketDetail


class InvalidDecision(ApiError):
    """The decision is malformed for its kind (422)."""

    status_code = 422


def _pending(record: TicketRecord) -> None:
    if record.status != TicketStatus.PENDING_APPROVAL.value:
        raise Conflict(f"ticket {record.ticket_id} is {record.status}, not PENDING_APPROVAL: "
                       "it has already been decided")


def _history(session: Session, runner: WriteBackRunner, record: TicketRecord, user: Principal,
             kind: EventKind, facts: dict[str, Any]) -> None:
    """The history step and the audit record of a decision, in its transaction."""
    session.add(TicketEvent(ticket_id=record.ticket_id, ts=now_iso(), actor=user.name,
                            kind=kind.value, detail=facts))
    runner.audit.append(AuditKind.DECISION, {"ticket_id": record.ticket_id, **facts},
                        correlation_id=correlation_of(record), conn=session.connection())


def _has_table(session: Session, name: str) -> bool:
    """Whether the store's database has table ``name``.

    A service without the warehouse tables (a test stand-in) has no item master to price by
    and no transactions to fit against.
    """
    return bool(inspect(session.connection()).has_table(name))


def unit_cost_of(session: Session, sku: str | None, site: str) -> float | None:
    """The item master's cost of one each of ``sku`` at ``site``; None when unknown."""
    if not sku or not _has_table(session, "items"):
        return None
    cost = session.execute(text("SELECT unit_cost FROM items WHERE site = :site AND sku = :sku"),
                           {"sku": sku, "site": site}).scalar()
    return float(cost) if cost is not None and math.isfinite(float(cost)) else None


def approval_value(session: Session, record: TicketRecord, action: Action) -> float | None:
    """The value an approval of ``action`` is judged by: the action's own SKU and quantity.

    The unit cost is the item master's for the SKU the action names (an edit to another SKU
    is priced as that SKU), falling back to the cost stored with the ticket for its own SKU.
    """
    sku = action.params.get("sku") if isinstance(action.params.get("sku"), str) else None
    cost = unit_cost_of(session, sku, record.site)
    if cost is None and sku == record.sku:
        cost = record.unit_cost
    return action_value(action, cost)


def decide(
    session: Session,
    *,
    record: TicketRecord,
    user: Principal,
    body: DecisionIn,
    policy: ApprovalPolicy,
    runner: WriteBackRunner,
) -> DecisionOutcome:
    """Apply one decision to a stored ticket, in one locked transaction.

    Raises:
        Conflict: the ticket is no longer pending, the action changed since it was reviewed,
            or this person already approved it (nothing is recorded).
        Forbidden: the decider's role is too weak or they edited the action themselves.
        InvalidDecision: a missing digest (approve), a missing, invalid or ill-fitting
            action (edit), a missing reason (reject).
        NotFound: the decider holds no role at the ticket's site.
    """
    user = _at_site(user, record)
    if not user.role.at_least(Role.SUPERVISOR):
        raise Forbidden(f"{user.name} is a {user.role}; deciding tickets needs supervisor or above")
    _well_formed(body)
    ticket_id = record.ticket_id
    item: int | None = None
    verdict_info: tuple[Role | None, int | None] = (None, None)
    try:
        locked = lock_ticket(session, ticket_id)
        if locked is None:
            raise NotFound(f"no ticket {ticket_id}")
        _pending(locked)
        match body.decision:
            case DecisionKind.REJECT:
                message = _reject(session, record=locked, user=user, body=body, runner=runner)
            case DecisionKind.EDIT:
                message = _edit(session, record=locked, user=user, body=body, runner=runner)
            case _:
                message, item, verdict_info = _approve(session, record=locked, user=user,
                                                       body=body, policy=policy, runner=runner)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    runner.audit.anchor_head()
    if body.decision is DecisionKind.REJECT:
        runner.reject(ticket_id, Decision(decision="reject", approver=user.name,
                                          role=user.role.value, reason=body.reason,
                                          comment=body.comment, ticket_id=ticket_id))
    if item is not None:
        runner.run(item)
        message = _landed_message(_fresh(session, ticket_id))
    required, needed = verdict_info
    return DecisionOutcome(message=message, required_role=required, approvals_needed=needed,
                           ticket=detail_of(session, record=_fresh(session, ticket_id)))


def _at_site(user: Principal, record: TicketRecord) -> Principal:
    """``user`` with the role they hold at the ticket's site (the one every check uses).

    Raises:
        NotFound: they hold none there (the ticket is not theirs to see).
    """
    acting = user.at_site(record.site)
    if acting is None:
        raise NotFound(f"no ticket {record.ticket_id}")
    return acting


def _fresh(session: Session, ticket_id: str) -> TicketRecord:
    session.expire_all()
    record = session.get(TicketRecord, ticket_id)
    assert record is not None
    return record


def _well_formed(body: DecisionIn) -> None:
    """Refuse a decision missing what its kind needs, before anything is locked."""
    if body.decision is DecisionKind.REJECT and not body.reason.strip():
        raise InvalidDecision("reject needs a 'reason': why the action is not to be done "
                              "(it is kept on the ticket and learned from)")
    if body.decision is DecisionKind.APPROVE and body.action_digest is None:
        raise InvalidDecision("approve needs 'action_digest': the digest of the action you "
                              "reviewed, as GET /v1/tickets/{id} shows it")
    if body.decision is DecisionKind.EDIT:
        if body.action is None:
            raise InvalidDecision("edit needs 'action': the corrected {type, params}")
        try:
            validate_params(body.action)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}"
                                 for e in exc.errors()[:5])
            raise InvalidDecision(f"invalid params for {body.action.type}: {problems}") from exc


def _reject(session: Session, *, record: TicketRecord, user: Principal, body: DecisionIn,
            runner: WriteBackRunner) -> str:
    bump(record, status=TicketStatus.REJECTED.value, decided_at=now_iso(), decided_by=user.name,
         decision_reason=body.reason.strip())
    session.add(record)
    facts = {"decision": "reject", "by": user.name, "role": user.role.value,
             "reason": body.reason.strip(), "comment": body.comment,
             "action_digest": record.action_digest}
    _history(session, runner, record, user, EventKind.REJECTED, facts)
    return f"rejected by {user.name}; nothing is written back"


def _edit(session: Session, *, record: TicketRecord, user: Principal, body: DecisionIn,
          runner: WriteBackRunner) -> str:
    assert body.action is not None
    digest = action_digest(body.action)
    if digest == record.action_digest:
        raise InvalidDecision("the edited action is identical to the current one")
    unfit = fit_refusal(session, record, body.action, runner.graph)
    if unfit is not None:
        raise InvalidDecision(f"the edited action does not fit this case: {unfit}")
    before = record.action
    bump(record, action=body.action.model_dump(mode="json"), action_digest=digest,
         edited_by=user.name)
    session.add(record)
    facts = {"decision": "edit", "by": user.name, "role": user.role.value,
             "comment": body.comment, "before": before, "after": record.action,
             "action_digest": digest}
    _history(session, runner, record, user, EventKind.EDITED, facts)
    return (f"action edited by {user.name}; it now needs approval by someone else "
            "(nobody approves their own edit)")


def fit_refusal(session: Session, record: TicketRecord, action: Action,
                graph: Any = None) -> str | None:
    """The policy's fit-to-case check of an edited action (:func:`agents.policy.refusal`).

    The case is the ticket's graph thread's when one holds it, else the ticket's own
    incident (its SKU, location and transactions); the rows are the ticket's stored
    transactions.
    """
    case = _thread_case(graph, record.ticket_id) or CaseFile(incident=Incident(
        incident_id=record.ticket_id, txn_ids=list(record.txn_ids), flags=[], sku=record.sku,
        location=record.location, risk_score=record.risk_score,
        severity=Severity(record.severity)))
    query = text("SELECT txn_id, sku, location, to_location FROM transactions "
                 "WHERE site = :site AND txn_id IN :ids").bindparams(
        bindparam("ids", expanding=True))
    found = session.execute(query, {"ids": list(record.txn_ids) or [""],
                                    "site": record.site}).all() \
        if _has_table(session, "transactions") else []
    rows = pd.DataFrame(found, columns=["txn_id", "sku", "location", "to_location"])
    return refusal(action, RootCause(record.root_cause), case, rows)


def _thread_case(graph: Any, ticket_id: str) -> CaseFile | None:
    if graph is None:
        return None
    values = graph.get_state({"configurable": {"thread_id": ticket_id}}).values
    case = values.get("case") if isinstance(values, dict) else None
    return CaseFile.model_validate(case) if case is not None else None


def _approve(session: Session, *, record: TicketRecord, user: Principal, body: DecisionIn,
             policy: ApprovalPolicy, runner: WriteBackRunner
             ) -> tuple[str, int | None, tuple[Role | None, int | None]]:
    if body.action_digest != record.action_digest:
        raise Conflict(f"the action changed since you reviewed it (edited by "
                       f"{record.edited_by or 'someone'}); review the current action and "
                       "approve its digest")
    action = Action.model_validate(record.action)
    verdict = check_approval(
        approver=user.name, role=user.role, action=action,
        value=approval_value(session, record, action), edited_by=record.edited_by,
        prior=approvals_of(session, ticket_id=record.ticket_id), policy=policy,
    )
    if not verdict.allowed:
        already = user.name in verdict.approvers
        raise (Conflict if already else Forbidden)(verdict.reason)
    session.add(TicketApproval(ticket_id=record.ticket_id, approver=user.name,
                               role=user.role.value, digest=verdict.digest, ts=now_iso(),
                               comment=body.comment))
    facts = {"decision": "approve", "by": user.name, "role": user.role.value,
             "comment": body.comment, "action_digest": verdict.digest,
             "approvers": verdict.approvers, "approvals_needed": verdict.approvals_needed}
    _history(session, runner, record, user, EventKind.APPROVED, facts)
    info = (verdict.required_role, verdict.approvals_needed)
    if not verdict.complete:
        return verdict.reason, None, info
    bump(record, status=TicketStatus.APPROVED.value, decided_at=now_iso(), decided_by=user.name)
    session.add(record)
    item = enqueue(session.connection(), decision=_decision(record, user, verdict.approvers,
                                                            body.comment))
    return "approved; the write-back is queued", item, info


def _decision(record: TicketRecord, user: Principal, approvers: list[str],
              comment: str) -> Decision:
    """The approval the write-back carries: bound to the ticket's current action digest."""
    return Decision(decision=_resume_kind(record), approver=user.name,
                    action=Action.model_validate(record.action),
                    action_digest=record.action_digest, comment=comment,
                    ticket_id=record.ticket_id, role=user.role.value, approvers=approvers)


def retry_write_back(
    session: Session, *, record: TicketRecord, user: Principal, runner: WriteBackRunner
) -> DecisionOutcome:
    """Queue and run an approved action's write-back again, under the same idempotency key.

    Raises:
        Conflict: the ticket is not approved-but-failed, or no approval of its current
            action is on record.
        NotFound: the caller holds no role at the ticket's site.
    """
    user = _at_site(user, record)
    if not user.role.at_least(Role.SUPERVISOR):
        raise Forbidden(f"{user.name} is a {user.role} at site {record.site}; a write-back "
                        "retry needs supervisor or above")
    ticket_id = record.ticket_id
    try:
        locked = lock_ticket(session, ticket_id)
        if locked is None:
            raise NotFound(f"no ticket {ticket_id}")
        if locked.status not in RETRYABLE:
            raise Conflict(f"ticket {ticket_id} is {locked.status}: only WRITE_BACK_FAILED "
                           "tickets can be written back again")
        approvers = list(dict.fromkeys(a.approver for a in approvals_of(session,
                                                                       ticket_id=ticket_id)
                                       if a.digest == locked.action_digest))
        if not approvers:
            raise Conflict(f"ticket {ticket_id} has no approval of its current action on record")
        bump(locked, status=TicketStatus.APPROVED.value)
        session.add(locked)
        decision = _decision(locked, user, approvers, "write-back retry")
        decision = decision.model_copy(update={"approver": approvers[-1]})
        item = enqueue(session.connection(), decision=decision,
                       round_=locked.write_back_attempts + 1)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    runner.run(item)
    fresh = _fresh(session, ticket_id)
    return DecisionOutcome(message=_landed_message(fresh), ticket=detail_of(session, record=fresh))


def _resume_kind(record: TicketRecord) -> DecisionKindName:
    """``edit`` when the approved action is not the graph's draft, else ``approve``."""
    return "approve" if record.action == record.proposed_action else "edit"


def _landed_message(record: TicketRecord) -> str:
    if record.status == TicketStatus.WRITTEN_BACK.value:
        return f"approved and written back to the WMS ({record.wms_reference})"
    if record.status == TicketStatus.APPROVED.value:
        return "approved; the write-back is queued and runs shortly"
    return (f"approved, but the WMS write-back failed ({record.write_back_detail}); "
            "POST /v1/tickets/{id}/write-back to retry under the same idempotency key")
