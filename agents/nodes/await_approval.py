"""Node: wait for a person. ``interrupt()`` alone here: this node re-runs on resume."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.types import Command, interrupt
from pydantic import ValidationError

from agents.nodes.record import to_ticket
from agents.state import Decision, TicketState
from warehouse.action_params import validate_params
from warehouse.canonical import action_digest
from warehouse.contract import TicketStatus


def await_approval(state: TicketState) -> Command[Literal["write_back", "record",
                                                          "await_approval"]]:
    """Show the pending ticket; route on the decision it is resumed with.

    Approve goes to write-back with the drafted action; edit goes to write-back with the
    edited action once its params validate (otherwise the ticket waits again, saying why);
    reject records the ticket without writing anything.
    """
    ticket = to_ticket(state, TicketStatus.PENDING_APPROVAL)
    answer = interrupt({"ticket": ticket.model_dump(mode="json"),
                        "action_digest": action_digest(ticket.action),
                        "error": state.approval_error})
    try:
        decision = Decision.model_validate(answer)
        if decision.decision == "edit":
            if decision.action is None:
                raise ValueError("an edit needs the edited action")
            validate_params(decision.action)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "decision"
        return Command(goto="await_approval",
                       update={"approval_error": f"{where}: {first['msg']}"})
    except ValueError as err:
        return Command(goto="await_approval", update={"approval_error": str(err)})
    if decision.decision == "reject":
        return Command(goto="record", update={"decision": decision, "approval_error": None,
                                              "status": TicketStatus.REJECTED})
    update: dict[str, Any] = {"decision": decision, "approval_error": None,
                              "status": TicketStatus.APPROVED}
    if decision.decision == "edit":
        update["action"] = decision.action
    return Command(goto="write_back", update=update)
