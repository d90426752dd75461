"""Node: hand the approved action to :func:`actions.write_back.write_back`, then record."""

from __future__ import annotations

from typing import Literal

from langgraph.types import Command

from actions.wms import WmsAdapter, WriteBackResult, WriteBackStatus
from actions.write_back import LANDED, NotApproved, write_back
from agents.state import TicketState
from warehouse.canonical import write_back_key
from warehouse.contract import ActionType, TicketStatus


class WriteBack:
    """The only node that holds a write tool, and it writes only through the one function.

    Args:
        wms: the adapter; it must apply each idempotency key at most once.
    """

    def __init__(self, wms: WmsAdapter) -> None:
        self.wms = wms

    def __call__(self, state: TicketState) -> Command[Literal["record", "await_count"]]:
        """Write back what the decision approves (by digest), then record the outcome.

        A RECOUNT that landed (a blind count task in the WMS) waits for its count instead.
        """
        assert state.action is not None and state.status is TicketStatus.APPROVED
        try:
            result = write_back(ticket_id=state.ticket_id, action=state.action,
                                decision=state.decision, wms=self.wms)
        except NotApproved as refused:
            result = WriteBackResult(status=WriteBackStatus.FAILED,
                                     idempotency_key=write_back_key(state.ticket_id, state.action),
                                     detail=f"refused: {refused}")
        ok = result.status in LANDED
        if ok and state.action.type is ActionType.RECOUNT and state.count is None:
            return Command(goto="await_count", update={
                "write_back": result, "status": TicketStatus.AWAITING_COUNT})
        return Command(goto="record", update={
            "write_back": result,
            "status": TicketStatus.WRITTEN_BACK if ok else TicketStatus.WRITE_BACK_FAILED})
