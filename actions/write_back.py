"""The one function every WMS write goes through: :func:`write_back`.

The graph's ``write_back`` node, the service's outbox worker and a person's retry all call
it; nothing else calls a :class:`actions.wms.WmsAdapter`. It refuses (raises
:class:`NotApproved`, nothing sent) unless the decision is an approval (``approve`` or
``edit``) bound by digest to the exact action being written, for the same ticket, with
params that validate. The idempotency key is :func:`warehouse.canonical.write_back_key`
of the ticket and action, so a retry after a timeout, a lost answer or a crash never
applies the action twice.
"""

from __future__ import annotations

from pydantic import ValidationError

from actions.decision import Decision
from actions.wms import WmsAdapter, WriteBackResult, WriteBackStatus
from warehouse.action_params import validate_params
from warehouse.canonical import action_digest, write_back_key
from warehouse.contract import Action

LANDED = frozenset({WriteBackStatus.APPLIED, WriteBackStatus.ALREADY_APPLIED})
"""WMS answers that mean the action is in the WMS (the ticket may say WRITTEN_BACK)."""
APPROVALS = frozenset({"approve", "edit"})


class NotApproved(Exception):
    """The write was refused before the WMS was called: no approved, digest-bound decision."""


def refusal(*, ticket_id: str, action: Action, decision: Decision | None) -> str | None:
    """Why ``action`` may not be written for ``ticket_id`` on ``decision``; None if it may."""
    if decision is None:
        return "no decision: nothing is written without an approval"
    if decision.decision not in APPROVALS:
        return f"a {decision.decision} is not an approval"
    if decision.ticket_id is not None and decision.ticket_id != ticket_id:
        return f"the decision is about ticket {decision.ticket_id}, not {ticket_id}"
    if decision.action_digest is None:
        return "the approval names no action digest: it is bound to no exact payload"
    digest = action_digest(action)
    if digest != decision.action_digest:
        return (f"the approval is for action {decision.action_digest[:12]}, not for "
                f"{digest[:12]} that was to be written")
    if decision.action is not None and action_digest(decision.action) != digest:
        return "the decision's action is not the action to be written"
    try:
        validate_params(action)
    except ValidationError as err:
        first = err.errors()[0]
        return f"params.{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return None


def write_back(*, ticket_id: str, action: Action, decision: Decision | None,
               wms: WmsAdapter | None) -> WriteBackResult:
    """Write ``action`` to the WMS once, if ``decision`` approves exactly it.

    Args:
        ticket_id: the ticket the action belongs to (part of the idempotency key).
        action: the action to write.
        decision: the approval; see :func:`refusal` for what it must say.
        wms: the adapter; None (no WMS configured) answers FAILED, worth a retry later.

    Returns:
        The WMS's answer: APPLIED or ALREADY_APPLIED when the action is in the WMS, FAILED
        with the reason otherwise (an adapter exception is a FAILED answer, not a crash).

    Raises:
        NotApproved: the decision does not approve this exact action; nothing was sent.
    """
    problem = refusal(ticket_id=ticket_id, action=action, decision=decision)
    if problem is not None:
        raise NotApproved(problem)
    key = write_back_key(ticket_id, action)
    if wms is None:
        return WriteBackResult(status=WriteBackStatus.FAILED, idempotency_key=key,
                               detail="no WMS configured (set TALLY_WMS_URL); retry later")
    try:
        return wms.apply(action, idempotency_key=key)
    except Exception as err:  # noqa: BLE001 - any adapter failure is a recorded outcome
        return WriteBackResult(status=WriteBackStatus.FAILED, idempotency_key=key,
                               detail=f"{type(err).__name__}: {err}"[:200])
