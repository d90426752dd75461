"""Node: wait for a person. ``interrupt()`` alone here: this node re-runs on resume."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.types import Command, interrupt
from pydantic import ValidationError

from actions.decision import Decision
from agents.nodes.record import to_ticket
from agents.state import TicketState
from warehouse.action_params import validate_params
from warehouse.canonical import action_digest
from warehouse.contract import TicketStatus


def await_approval(state: TicketState) -> Command[Literal["write_back", "record",
                                                          "await_approval"]]:
    """Show the pending ticket; route on the decision it is resumed with.

    Approve goes to write-back with the drafted action when the approval names that
    action's digest; edit goes to write-back with the edited action once its params
    validate and the decision names the edited action's digest (otherwise the ticket waits
    again, saying why); reject records the ticket without writing anything.
    """
    ticket = to_ticket(state, TicketStatus.PENDING_APPROVAL)
    digest = action_digest(ticket.action)
    answer = interrupt({"ticket": ticket.model_dump(mode="json"), "action_digest": digest,
                        "error": state.approval_error})
    try:
        decision = Decision.model_validate(answer)
        if decision.decision == "edit":
            if decision.action is None:
                raise ValueError("an edit needs the edited action")
            validate_params(decision.action)
            digest = action_digest(decision.action)
        elif decision.decision == "approve" and decision.action is not None \
                and decision.action != ticket.action:
            raise ValueError("an approval approves the ticket's action; send an edit to change it")
        if decision.decision != "reject" and decision.action_digest != digest:
            raise ValueError(f"the approval must name the digest of the action it approves "
                             f"({digest}); it named {decision.action_digest}")
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
