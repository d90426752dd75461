"""Node: wait for the blind count. ``interrupt()`` alone here: this node re-runs on resume.

The pause shows what to count (SKU and locations), never the expected quantity: the count
is blind. It is resumed with a :class:`agents.recount.CountResult` (the CYCLE_COUNT the
service matched to this ticket); a count of another SKU or location waits again, saying why.
"""

from __future__ import annotations

from typing import Literal

from langgraph.types import Command, interrupt
from pydantic import ValidationError

from agents.recount import CountResult
from agents.state import TicketState


def await_count(state: TicketState) -> Command[Literal["recount_result", "await_count"]]:
    """Pause until the count arrives; route it to the re-classification."""
    assert state.action is not None
    params = state.action.params
    locations = [str(x) for x in params.get("locations", [])]
    answer = interrupt({"awaiting": "count", "ticket_id": state.ticket_id,
                        "sku": params.get("sku") or state.incident.sku, "locations": locations,
                        "error": state.approval_error})
    try:
        count = CountResult.model_validate(answer)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "count"
        return Command(goto="await_count", update={"approval_error": f"{where}: {first['msg']}"})
    sku = params.get("sku") or state.incident.sku
    if (sku and count.sku != sku) or (locations and count.location not in locations):
        return Command(goto="await_count", update={
            "approval_error": f"count of {count.sku} at {count.location} does not answer the "
                              f"recount of {sku} at {', '.join(locations)}"})
    return Command(goto="recount_result", update={"count": count, "approval_error": None})
