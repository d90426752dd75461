"""A ticket that proposes nothing asks nothing of a supervisor: many of one kind fold into one."""

from __future__ import annotations

from agents.dismissed import fold_dismissed
from evals.metrics import top_level, ungrounded_numbers
from warehouse.contract import (
    Action,
    ActionType,
    RootCause,
    Severity,
    Ticket,
    TicketKind,
    TicketStatus,
)


def _ticket(i: int, codes: list[str], action: ActionType = ActionType.NO_ACTION) -> Ticket:
    legit = action is ActionType.NO_ACTION
    params = {} if legit else {"sku": f"S{i}"}
    return Ticket(
        ticket_id=f"INC-{i:05d}", txn_ids=[f"T{i}"], sku=f"S{i}", location="WH",
        risk_score=0.1 + i / 100, severity=Severity.INFO if legit else Severity.REVIEW,
        root_cause=RootCause.LEGITIMATE if legit else RootCause.SHRINKAGE, confidence=0.8,
        summary=f"ticket {i}", explanation="x", evidence=[],
        action=Action(type=action, params=params),
        status=(TicketStatus.NO_ACTION if legit else TicketStatus.PENDING_APPROVAL).value,
        reason_codes=codes, first_ts=f"2011-03-{1 + i % 20:02d}T10:00:00+00:00")


def test_many_dismissals_of_one_kind_fold_under_one_systemic_ticket() -> None:
    spikes = [_ticket(i, ["QTY_OUTLIER"]) for i in range(12)]
    few = [_ticket(20 + i, ["LARGE_ADJUSTMENT"]) for i in range(3)]
    acting = [_ticket(30 + i, ["QTY_OUTLIER"], ActionType.INVESTIGATE) for i in range(2)]
    out = fold_dismissed([*spikes, *few, *acting], min_occurrences=10)
    parents = [t for t in out if t.kind is TicketKind.SYSTEMIC]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.child_count == 12
    assert parent.action.type is ActionType.NO_ACTION
    assert parent.status == TicketStatus.NO_ACTION.value
    assert parent.root_cause is RootCause.LEGITIMATE
    assert set(parent.txn_ids) == {t.txn_ids[0] for t in spikes}
    assert {t.ticket_id for t in out if t.parent_ticket_id == parent.ticket_id} == {
        t.ticket_id for t in spikes}
    # the few dismissals and every ticket that asks for something stay in the queue
    queue = {t.ticket_id for t in top_level(out)}
    assert queue == {parent.ticket_id, *(t.ticket_id for t in (*few, *acting))}
    assert "12" in parent.summary
    assert ungrounded_numbers(parent) == []


def test_below_the_threshold_nothing_folds() -> None:
    tickets = [_ticket(i, ["VELOCITY_SPIKE"]) for i in range(9)]
    assert fold_dismissed(tickets, min_occurrences=10) == tickets
