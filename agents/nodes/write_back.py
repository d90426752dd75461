"""Node: apply the approved action through the WMS adapter, once per ticket and payload."""

from __future__ import annotations

from typing import Literal

from langgraph.types import Command

from agents.state import TicketState
from warehouse.canonical import write_back_key
from warehouse.contract import ActionType, TicketStatus
from warehouse.wms import WmsAdapter, WriteBackResult, WriteBackStatus


class WriteBack:
    """The only node that holds a write tool.

    Args:
        wms: the adapter; it must apply each idempotency key at most once.
    """

    def __init__(self, wms: WmsAdapter) -> None:
        self.wms = wms

    def __call__(self, state: TicketState) -> Command[Literal["record", "await_count"]]:
        """Write back (idempotent on ticket id + action digest), then record.

        A RECOUNT that landed (a blind count task in the WMS) waits for its count instead.
        """
        assert state.action is not None and state.status is TicketStatus.APPROVED
        key = write_back_key(state.ticket_id, state.action)
        try:
            result = self.wms.apply(state.action, idempotency_key=key)
        except Exception as err:  # noqa: BLE001 - any adapter failure is a recorded outcome
            result = WriteBackResult(status=WriteBackStatus.FAILED, idempotency_key=key,
                                     detail=f"{type(err).__name__}: {err}"[:200])
        ok = result.status in (WriteBackStatus.APPLIED, WriteBackStatus.ALREADY_APPLIED)
        if ok and state.action.type is ActionType.RECOUNT and state.count is None:
            return Command(goto="await_count", update={
                "write_back": result, "status": TicketStatus.AWAITING_COUNT})
        return Command(goto="record", update={
            "write_back": result,
            "status": TicketStatus.WRITTEN_BACK if ok else TicketStatus.WRITE_BACK_FAILED})
