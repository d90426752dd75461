"""What a supervisor's decision on a ticket does: approve, reject, or edit the action.

The rules are :mod:`api.approvals`' pure functions; this module applies them to a stored
ticket, records the approval, the history step and the audit record, and hands a fully
approved ticket to the :class:`api.writeback.WriteBackRunner`.

- ``approve`` names the ``action_digest`` the approver reviewed; if the action has changed
  since (someone edited it), the approval is refused: approvals bind to exact payloads.
- ``edit`` (edit-and-approve) replaces the action. Nobody approves their own edit, so the
  editor's sign-off is the edit itself and the new payload waits for another approver;
  earlier approvals were of another digest and no longer count.
- ``reject`` closes the ticket without a write-back.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from api.approvals import ApprovalPolicy, action_value, check_approval
from api.auth import Principal, Role
from api.errors import ApiError, Conflict, Forbidden
from api.tickets import (
    EventKind,
    StaleTicket,
    TicketDetail,
    TicketRecord,
    add_approval,
    add_event,
    approvals_of,
    detail_of,
    now_iso,
    update_ticket,
)
from api.writeback import Decision, WriteBackRunner, correlation_of
from warehouse.action_params import validate_params
from warehouse.audit import AuditKind, AuditLog
from warehouse.canonical import action_digest
from warehouse.contract import Action, TicketStatus

RETRYABLE = frozenset({TicketStatus.APPROVED.value, TicketStatus.WRITE_BACK_FAILED.value})
"""Statuses a write-back may be (re)tried from: approved but not landed."""


class DecisionKind(StrEnum):
    """What the decider does."""

    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"


class DecisionIn(BaseModel):
    """A decision on one ticket."""

    decision: DecisionKind
    comment: str = Field(default="", max_length=2000, description="why; kept in the history")
    action_digest: str | None = Field(
        default=None, pattern="^[0-9a-f]{64}$",
        description="approve: the digest of the action you reviewed (GET /v1/tickets/{id})",
    )
    action: Action | None = Field(default=None, description="edit: the corrected action")


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


def _audit_decision(audit: AuditLog, record: TicketRecord, facts: dict[str, object]) -> None:
    audit.append(AuditKind.DECISION, {"ticket_id": record.ticket_id, **facts},
                 correlation_id=correlation_of(record))


def decide(
    session: Session,
    *,
    record: TicketRecord,
    user: Principal,
    body: DecisionIn,
    policy: ApprovalPolicy,
    runner: WriteBackRunner,
) -> DecisionOutcome:
    """Apply one decision to a stored ticket.

    Raises:
        Conflict: the ticket is no longer pending, the action changed since it was reviewed,
            or this person already approved it.
        Forbidden: the decider's role is too weak or they edited the action themselves.
        InvalidDecision: a missing digest (approve) or a missing or invalid action (edit).
    """
    if not user.role.at_least(Role.SUPERVISOR):
        raise Forbidden(f"{user.name} is a {user.role}; deciding tickets needs supervisor or above")
    _pending(record)
    try:
        match body.decision:
            case DecisionKind.REJECT:
                return _reject(session, record=record, user=user, body=body, runner=runner)
            case DecisionKind.EDIT:
                return _edit(session, record=record, user=user, body=body, runner=runner)
            case _:
                return _approve(session, record=record, user=user, body=body, policy=policy,
                                runner=runner)
    except StaleTicket as exc:
        raise Conflict(str(exc)) from exc


def _reject(session: Session, *, record: TicketRecord, user: Principal, body: DecisionIn,
            runner: WriteBackRunner) -> DecisionOutcome:
    record = update_ticket(session, record=record, status=TicketStatus.REJECTED.value,
                           decided_at=now_iso(), decided_by=user.name)
    facts = {"decision": "reject", "by": user.name, "role": user.role.value,
             "comment": body.comment, "action_digest": record.action_digest}
    add_event(session, ticket_id=record.ticket_id, actor=user.name, kind=EventKind.REJECTED,
              detail=facts)
    _audit_decision(runner.audit, record, facts)
    runner.reject(record=record, decision=Decision(
        ticket_id=record.ticket_id, decision="reject", approver=user.name, role=user.role,
        comment=body.comment, action=Action.model_validate(record.action),
        action_digest=record.action_digest))
    return DecisionOutcome(message=f"rejected by {user.name}; nothing is written back",
                           ticket=detail_of(session, record=record))


def _edit(session: Session, *, record: TicketRecord, user: Principal, body: DecisionIn,
          runner: WriteBackRunner) -> DecisionOutcome:
    if body.action is None:
        raise InvalidDecision("edit needs 'action': the corrected {type, params}")
    try:
        validate_params(body.action)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}"
                             for e in exc.errors()[:5])
        raise InvalidDecision(f"invalid params for {body.action.type}: {problems}") from exc
    digest = action_digest(body.action)
    if digest == record.action_digest:
        raise InvalidDecision("the edited action is identical to the current one")
    before = record.action
    record = update_ticket(session, record=record, action=body.action.model_dump(mode="json"),
                           action_digest=digest, edited_by=user.name)
    facts = {"decision": "edit", "by": user.name, "role": user.role.value,
             "comment": body.comment, "before": before, "after": record.action,
             "action_digest": digest}
    add_event(session, ticket_id=record.ticket_id, actor=user.name, kind=EventKind.EDITED,
              detail=facts)
    _audit_decision(runner.audit, record, facts)
    return DecisionOutcome(
        message=f"action edited by {user.name}; it now needs approval by someone else "
        "(nobody approves their own edit)",
        ticket=detail_of(session, record=record),
    )


def _approve(session: Session, *, record: TicketRecord, user: Principal, body: DecisionIn,
             policy: ApprovalPolicy, runner: WriteBackRunner) -> DecisionOutcome:
    if body.action_digest is None:
        raise InvalidDecision("approve needs 'action_digest': the digest of the action you "
                              "reviewed, as GET /v1/tickets/{id} shows it")
    if body.action_digest != record.action_digest:
        raise Conflict(f"the action changed since you reviewed it (edited by "
                       f"{record.edited_by or 'someone'}); review the current action and "
                       "approve its digest")
    action = Action.model_validate(record.action)
    verdict = check_approval(
        approver=user.name, role=user.role, action=action,
        value=action_value(action, record.unit_cost), edited_by=record.edited_by,
        prior=approvals_of(session, ticket_id=record.ticket_id), policy=policy,
    )
    if not verdict.allowed:
        already = user.name in verdict.approvers
        raise (Conflict if already else Forbidden)(verdict.reason)
    try:
        add_approval(session, ticket_id=record.ticket_id, approver=user.name, role=user.role,
                     digest=verdict.digest, comment=body.comment)
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"{user.name} has already approved this exact action") from exc
    facts = {"decision": "approve", "by": user.name, "role": user.role.value,
             "comment": body.comment, "action_digest": verdict.digest,
             "approvers": verdict.approvers, "approvals_needed": verdict.approvals_needed}
    add_event(session, ticket_id=record.ticket_id, actor=user.name, kind=EventKind.APPROVED,
              detail=facts)
    _audit_decision(runner.audit, record, facts)
    if not verdict.complete:
        return DecisionOutcome(message=verdict.reason, required_role=verdict.required_role,
                               approvals_needed=verdict.approvals_needed,
                               ticket=detail_of(session, record=record))
    record = update_ticket(session, record=record, status=TicketStatus.APPROVED.value,
                           decided_at=now_iso(), decided_by=user.name)
    decision = Decision(decision=_resume_kind(record), approver=user.name, action=action,
                        comment=body.comment, ticket_id=record.ticket_id, role=user.role,
                        action_digest=verdict.digest, approvers=verdict.approvers)
    record = runner.write_back(session, record=record, decision=decision, actor=user.name)
    return DecisionOutcome(message=_landed_message(record), required_role=verdict.required_role,
                           approvals_needed=verdict.approvals_needed,
                           ticket=detail_of(session, record=record))


def retry_write_back(
    session: Session, *, record: TicketRecord, user: Principal, runner: WriteBackRunner
) -> DecisionOutcome:
    """Try an approved action's write-back again, under the same idempotency key.

    Raises:
        Conflict: the ticket is not approved-but-unwritten.
    """
    if record.status not in RETRYABLE:
        raise Conflict(f"ticket {record.ticket_id} is {record.status}: only APPROVED or "
                       "WRITE_BACK_FAILED tickets can be written back again")
    action = Action.model_validate(record.action)
    approvers = [a.approver for a in approvals_of(session, ticket_id=record.ticket_id)
                 if a.digest == record.action_digest]
    decision = Decision(decision=_resume_kind(record), approver=user.name, action=action,
                        comment="write-back retry", ticket_id=record.ticket_id, role=user.role,
                        action_digest=record.action_digest, approvers=approvers)
    try:
        record = runner.write_back(session, record=record, decision=decision, actor=user.name)
    except StaleTicket as exc:
        raise Conflict(str(exc)) from exc
    return DecisionOutcome(message=_landed_message(record),
                           ticket=detail_of(session, record=record))


def _resume_kind(record: TicketRecord) -> str:
    """``edit`` when the approved action is not the graph's draft, else ``approve``."""
    return "approve" if record.action == record.proposed_action else "edit"


def _landed_message(record: TicketRecord) -> str:
    if record.status == TicketStatus.WRITTEN_BACK.value:
        return f"approved and written back to the WMS ({record.wms_reference})"
    return (f"approved, but the WMS write-back failed ({record.write_back_detail}); "
            "POST /v1/tickets/{id}/write-back to retry under the same idempotency key")
