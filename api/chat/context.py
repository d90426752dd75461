"""What a chat answer may draw on, and the rule every answerer applies first: no writes.

The facts: the ticket, its evidence, what approval would take, similar past tickets, the
earlier tickets on its SKU, location or user, and the runner-up causes its reasoner weighed.

Chat is read-only by construction (no answerer holds a write path), and a request to change
something is refused in plain words, pointing at the decision endpoint, whatever the model.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, String, cast
from sqlmodel import Session, col, or_, select

from api.approvals import ApprovalPolicy, action_value, approvals_needed, required_role
from api.auth import Role
from api.tickets import TicketDetail, TicketRecord, TicketSummary, detail_of, summarize

SIMILAR_LIMIT = 5
HISTORY_LIMIT = 8
_WRITE_VERBS = (r"approve|reject|adjust|correct|change|update|set|write|post|apply|void|delete"
                r"|remove|fix|execute|submit|book|move|reslot|edit|modify|cancel|close|confirm"
                r"|decline|accept|raise|file|open|create")
_WRITE_REQUEST = re.compile(
    rf"^\s*(please\s+|pls\s+|kindly\s+|now\s+|just\s+|ok,?\s+|okay,?\s+)*({_WRITE_VERBS})\b"
    rf"|\b(can|could|would|will)\s+you\s+(please\s+)?(just\s+)?(go\s+ahead\s+and\s+)?"
    rf"({_WRITE_VERBS})\b"
    rf"|\bgo\s+ahead\b|\bdo\s+it\b|\bmake\s+it\s+so\b"
    rf"|\b(i\s+want|i'd\s+like|we\s+need|i\s+need)\s+(you\s+)?to\s+({_WRITE_VERBS})\b"
    rf"|^\s*i\s+(hereby\s+)?(approve|reject|confirm|authori[sz]e)\b",
    re.IGNORECASE,
)
_CITATION = re.compile(r"\[?\b(E\d+)\b\]?")


class ApprovalNeeds(BaseModel):
    """What it would take to approve the ticket's current action."""

    required_role: Role
    approvals_needed: int
    value: float | None = Field(description="money the action moves, None when unknown")


class Alternative(BaseModel):
    """A runner-up cause the reasoner weighed, with its probability."""

    root_cause: str
    probability: float


class ChatContext(BaseModel):
    """The facts a chat answer may use, and nothing else."""

    ticket: TicketDetail
    needs: ApprovalNeeds
    similar: list[TicketSummary] = Field(description="same cause, same SKU or location")
    history: list[TicketSummary] = Field(
        default_factory=list, description="any cause, same SKU, location or user")
    user_id: str | None = Field(default=None, description="the operator the ticket names")
    unit_cost: float | None = None
    alternatives: list[Alternative] = Field(default_factory=list)


def is_write_request(text: str) -> bool:
    """Whether the message asks the assistant to change something (approve, adjust, ...)."""
    return bool(_WRITE_REQUEST.search(text))


def cited_ids(text: str, ticket: TicketDetail) -> list[str]:
    """Evidence ids of the ticket that ``text`` cites, in order of first citation."""
    known = {e.id for e in ticket.evidence if e.id}
    return list(dict.fromkeys(m for m in _CITATION.findall(text) if m in known))


def similar_tickets(session: Session, *, record: TicketRecord) -> list[TicketSummary]:
    """Other tickets with the same root cause on the same SKU or location, newest first."""
    same_place = []
    if record.sku:
        same_place.append(TicketRecord.sku == record.sku)
    if record.location:
        same_place.append(TicketRecord.location == record.location)
    if not same_place:
        return []
    rows = session.exec(
        select(TicketRecord)
        .where(TicketRecord.root_cause == record.root_cause,
               TicketRecord.ticket_id != record.ticket_id, or_(*same_place))
        .order_by(col(TicketRecord.created_at).desc()).limit(SIMILAR_LIMIT)
    )
    return [summarize(r) for r in rows]


_USER_FACT = re.compile(r"\bUser (\S+?):")


def named_user(ticket: TicketDetail) -> str | None:
    """The operator the ticket is about: its action's ``user_id``, else its evidence's."""
    user = ticket.action.params.get("user_id")
    if isinstance(user, str) and user:
        return user
    for e in ticket.evidence:
        match = _USER_FACT.search(e.fact)
        if match:
            return match.group(1)
    return None


def earlier_tickets(session: Session, *, record: TicketRecord, user: str | None
                    ) -> list[TicketSummary]:
    """Other tickets, of any cause, on the same SKU or location or naming the same user."""
    same: list[ColumnElement[bool]] = []
    if record.sku:
        same.append(col(TicketRecord.sku) == record.sku)
    if record.location:
        same.append(col(TicketRecord.location) == record.location)
    if user:
        same.append(cast(TicketRecord.action, String).contains(f'"{user}"'))
    if not same:
        return []
    rows = session.exec(select(TicketRecord)
                        .where(TicketRecord.ticket_id != record.ticket_id, or_(*same))
                        .order_by(col(TicketRecord.created_at).desc()).limit(HISTORY_LIMIT))
    return [summarize(r) for r in rows]


def build_context(session: Session, *, record: TicketRecord, policy: ApprovalPolicy
                  ) -> ChatContext:
    """Everything a chat answer about ``record`` may draw on."""
    ticket = detail_of(session, record=record)
    value = action_value(ticket.action, record.unit_cost)
    user = named_user(ticket)
    alternatives = ticket.extra.get("alternatives") or []
    return ChatContext(
        ticket=ticket,
        needs=ApprovalNeeds(
            required_role=required_role(ticket.action, value=value, policy=policy),
            approvals_needed=approvals_needed(ticket.action, value=value, policy=policy),
            value=value,
        ),
        similar=similar_tickets(session, record=record),
        history=earlier_tickets(session, record=record, user=user),
        user_id=user, unit_cost=record.unit_cost,
        alternatives=[Alternative.model_validate(a) for a in alternatives
                      if isinstance(a, dict)],
    )
