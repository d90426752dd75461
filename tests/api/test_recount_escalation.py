"""A blind count that never comes escalates the ticket once, after TALLY_RECOUNT_ESCALATE_H."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from actions.audit import AuditKind, AuditLog
from api.db import SERVICE_TABLES
from api.recounts import Recounts
from api.tickets import get_ticket, save_ticket, update_ticket
from tests.api_fixtures import make_ticket, open_store
from warehouse.contract import Action


def test_an_overdue_count_escalates_once(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    SERVICE_TABLES[0].metadata.create_all(store.engine, tables=SERVICE_TABLES)
    recount = Action(type="RECOUNT", params={"locations": ["P-1"], "sku": "SKU-1"})
    with Session(store.engine, expire_on_commit=False) as s:
        record = save_ticket(s, ticket=make_ticket(1, action=recount), actor="t")
        written = datetime(2025, 3, 3, 8, tzinfo=UTC)
        update_ticket(s, record=record, status="AWAITING_COUNT",
                      decided_at=written.isoformat(timespec="microseconds"))
    audit = AuditLog(store.engine)
    recounts = Recounts(engine=store.engine, audit=audit, graph=lambda: None, escalate_h=24)

    assert recounts.escalate_overdue(written + timedelta(hours=23)) == []
    late = recounts.escalate_overdue(written + timedelta(hours=25))
    assert [r.ticket_id for r in late] == ["TK1"]
    assert recounts.escalate_overdue(written + timedelta(hours=48)) == []  # once
    with Session(store.engine) as s:
        ticket = get_ticket(s, ticket_id="TK1")
        assert ticket is not None and ticket.severity == "STOP"
        assert ticket.status == "AWAITING_COUNT"  # still waiting for the count
    events = [e.payload.get("event") for e in audit.entries(kind=AuditKind.TICKET)]
    assert events.count("count_overdue") == 1
    # a count of another SKU answers nothing
    assert recounts.counts_arrived([{"type": "CYCLE_COUNT", "sku": "OTHER", "location": "P-1",
                                     "qty": 3, "txn_id": "C1"}]) == []
