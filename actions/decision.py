"""The one decision model: what a person decided about a ticket's action.

The service records it (:mod:`api.decisions`), resumes the ticket's paused graph thread with
it (``Command(resume=decision.model_dump(mode="json"))``) and hands it to
:func:`actions.write_back.write_back`, which writes only an approval bound to the digest of
the exact action being written.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from warehouse.contract import Action

DecisionKindName = Literal["approve", "reject", "edit"]


class Decision(BaseModel):
    """A person's answer to a pending ticket.

    ``approve`` and ``edit`` lead to a write-back only with ``action_digest`` set to the
    digest (:func:`warehouse.canonical.action_digest`) of the action to be written: for an
    ``edit``, the edited ``action``; for an ``approve``, the ticket's current action.
    """

    decision: DecisionKindName
    approver: str = Field(min_length=1, description="who decided (the last approver)")
    action: Action | None = Field(
        default=None, description="edit: the action to write instead of the draft")
    action_digest: str | None = Field(
        default=None, pattern="^[0-9a-f]{64}$",
        description="digest of the exact action approved; nothing is written without it")
    comment: str | None = None
    reason: str | None = Field(default=None, description="reject: why (kept on the ticket)")
    ticket_id: str | None = Field(default=None, description="the ticket decided on")
    role: str | None = Field(default=None, description="the decider's role")
    approvers: list[str] = Field(
        default_factory=list, description="everyone whose approval of this digest counted")
