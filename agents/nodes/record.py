"""Node: the final contract ticket of a finished run; :func:`to_ticket` builds any stage's."""

from __future__ import annotations

from typing import Literal

from langgraph.types import Command

from agents.state import TicketState
from warehouse.contract import ActionType, Ticket, TicketStatus


def to_ticket(state: TicketState, status: TicketStatus) -> Ticket:
    """The contract ticket (CONTRACT.md section 5) of a classified, explained state."""
    assert state.case and state.classification and state.action and state.explanation
    inc = state.incident
    usage = state.usage
    extra = {
        "incident_id": inc.incident_id,
        "reason_codes": inc.codes,
        "reasoner": state.reasoner,
        "llm_calls": usage.calls,
        "llm_tokens": usage.prompt_tokens + usage.completion_tokens,
        "fallback_reason": usage.fallback_reason,
        "grounding": state.grounding,
        "alternatives": [a.model_dump(mode="json") for a in state.classification.alternatives],
        "first_ts": inc.first_ts,
        "last_ts": inc.last_ts,
    }
    if state.decision is not None:
        extra["decision"] = state.decision.model_dump(mode="json")
    if state.write_back is not None:
        extra["write_back"] = state.write_back.model_dump(mode="json")
    if state.count is not None:
        extra["count"] = state.count.model_dump(mode="json")
        extra["recount"] = state.recount.model_dump(mode="json") if state.recount else None
    return Ticket(
        ticket_id=state.ticket_id, txn_ids=inc.txn_ids, sku=inc.sku, location=inc.location,
        risk_score=inc.risk_score, severity=state.severity or inc.severity,
        root_cause=state.classification.root_cause,
        confidence=state.classification.confidence,
        summary=name_item(state.explanation.summary, inc.sku, state.item_description),
        explanation=state.explanation.explanation, evidence=state.case.evidence,
        action=state.action, status=status.value, value_at_risk=state.value_at_risk, **extra,
    )


def name_item(summary: str, sku: str | None, description: str | None) -> str:
    """The summary with the item's description beside its code (once, where it is named).

    A summary that does not name the SKU gets it, with its description, at the end.
    """
    if not sku or not description or description in summary:
        return summary
    label = f"{sku} ({description})"
    if sku in summary:
        return summary.replace(sku, label, 1)
    return f"{summary} · {label}"


def record(state: TicketState) -> Command[Literal["__end__"]]:
    """Record the final ticket (NO_ACTION tickets arrive here without an approval)."""
    status = state.status
    if status is None:
        status = (TicketStatus.NO_ACTION if state.action and state.action.type
                  is ActionType.NO_ACTION else TicketStatus.PENDING_APPROVAL)
    return Command(goto="__end__", update={"status": status, "ticket": to_ticket(state, status)})
