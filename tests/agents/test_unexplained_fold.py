"""Lone write-offs without a recorded cause fold into one review ticket per poster.

A write-off the staff posted without a word is the record being corrected; many of them
are one thing to do (review them in one sitting), not one queue ticket each. Write-offs
whose note or reason code names a cause, repeated write-offs of one item and anything
another rule linked stay tickets of their own.
"""

from __future__ import annotations

from typing import Any

from agents.unexplained import fold_unexplained
from evals.metrics import top_level, ungrounded_numbers
from tests.scorer_cases import at, dataset
from tools.view import WarehouseView
from warehouse.contract import (
    Action,
    ActionType,
    RootCause,
    Severity,
    Ticket,
    TicketKind,
    TicketStatus,
)

R = RootCause


def _adj(hours: float, sku: str, qty: float, note: str | None = None,
         reason: str = "OTHER", user: str = "STOCK") -> dict[str, Any]:
    return {"ts": at(hours), "type": "ADJUSTMENT", "sku": sku, "qty": qty, "location": "P1",
            "user_id": user, "reason_code": reason, "note": note}


def _ticket(i: int, txn_ids: list[str], codes: list[str],
            cause: RootCause = R.SHRINKAGE) -> Ticket:
    return Ticket(
        ticket_id=f"INC-{i:05d}", txn_ids=txn_ids, sku="A", location="P1",
        risk_score=0.5 + i / 100, severity=Severity.REVIEW, root_cause=cause, confidence=0.8,
        summary=f"ticket {i}", explanation="x", evidence=[],
        action=Action(type=ActionType.INVESTIGATE, params={"sku": "A"}),
        status=TicketStatus.PENDING_APPROVAL.value, value_at_risk=10.0 * i,
        reason_codes=codes, first_ts=at(100 + i).isoformat())


def _fold(rows: list[dict[str, Any]], per_ticket: list[list[int]],
          codes: list[list[str]] | None = None) -> tuple[list[Ticket], list[Ticket]]:
    """Tickets over the crafted rows (by position among them), and the folded result."""
    data = dataset(rows)
    tx = data.transactions
    ids = list(tx.loc[tx["user_id"].isin(["STOCK", "X"]), "txn_id"])
    tickets = [_ticket(i, [ids[k] for k in members],
                       (codes[i] if codes else ["LARGE_ADJUSTMENT"]))
               for i, members in enumerate(per_ticket)]
    return tickets, fold_unexplained(tickets, WarehouseView(data), min_occurrences=10)


def test_many_lone_unexplained_write_offs_fold_under_one_review_ticket() -> None:
    lone = [_adj(100 + k, "A", -50 - k, note=("?" if k % 3 == 0 else None)) for k in range(12)]
    lost = _adj(130, "B", -40, note="lost")
    damaged = _adj(131, "B", -40, reason="DAMAGED")
    tickets, out = _fold([*lone, lost, damaged], [[k] for k in range(14)])
    parents = [t for t in out if t.kind is TicketKind.SYSTEMIC]
    assert len(parents) == 1
    parent = parents[0]
    assert parent.child_count == 12
    assert parent.root_cause is R.SHRINKAGE
    assert parent.action.type is ActionType.INVESTIGATE
    assert parent.action.params == {"user_id": "STOCK", "location": "P1"}
    assert parent.value_at_risk == sum(t.value_at_risk for t in tickets[:12])
    assert set(parent.txn_ids) == {t.txn_ids[0] for t in tickets[:12]}
    # the noted loss and the write-off with a reason code stay in the queue
    queue = {t.ticket_id for t in top_level(out)}
    assert queue == {parent.ticket_id, tickets[12].ticket_id, tickets[13].ticket_id}
    assert "12" in parent.summary and "STOCK" in parent.summary
    assert ungrounded_numbers(parent) == []
    # the largest write-off is named first among the examples
    assert tickets[11].ticket_id in parent.evidence[3].fact


def test_repeated_linked_or_otherwise_flagged_write_offs_stay_tickets() -> None:
    lone = [_adj(100 + k, "A", -50 - k) for k in range(10)]
    add_back = [_adj(120, "B", -80), _adj(121, "B", 60)]
    repeated = [_adj(122, "C", -30), _adj(123, "C", -30)]
    rows = [*lone, *add_back, *repeated, _adj(124, "C", -500)]
    per_ticket = [[k] for k in range(10)] + [[10, 11], [12, 13], [14]]
    codes = [["LARGE_ADJUSTMENT"]] * 12 + [["LARGE_ADJUSTMENT", "OFFSETTING_ADJUSTMENTS"]]
    tickets, out = _fold(rows, per_ticket, codes)
    parent = next(t for t in out if t.kind is TicketKind.SYSTEMIC)
    # a write-off with stock of the same item added back is the same correction put right
    assert parent.child_count == 11
    queue = {t.ticket_id for t in top_level(out)}
    assert queue == {parent.ticket_id, tickets[11].ticket_id, tickets[12].ticket_id}


def test_below_the_threshold_or_read_as_another_cause_nothing_folds() -> None:
    rows = [_adj(100 + k, "A", -50 - k) for k in range(9)]
    tickets, out = _fold(rows, [[k] for k in range(9)])
    assert out == tickets
    data = dataset([_adj(100 + k, "A", -50 - k) for k in range(10)])
    ids = list(data.transactions.loc[data.transactions["user_id"] == "STOCK", "txn_id"])
    mis_scans = [_ticket(i, [t], ["LARGE_ADJUSTMENT"], cause=R.MIS_SCAN)
                 for i, t in enumerate(ids)]
    assert fold_unexplained(mis_scans, WarehouseView(data), min_occurrences=10) == mis_scans
