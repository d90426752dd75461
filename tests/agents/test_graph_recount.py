"""A recount is a step of the investigation: await_count pauses, the count resumes it."""

from __future__ import annotations

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from actions.decision import Decision
from actions.wms_recording import RecordingWms
from agents.graph import build_graph
from agents.reasoners import OfflineReasoner
from agents.recount import CountResult
from scoring.types import Flag, Incident
from tools.view import WarehouseView
from warehouse.canonical import action_digest
from warehouse.contract import Action, ActionType, Severity, Ticket

INCIDENT = Incident(
    incident_id="INC-RC", txn_ids=["T07", "T08"], sku="COLA-500", location="A-01-1",
    flags=[Flag(txn_id="T08", detector="duplicate", code="DUPLICATE_PAYLOAD", score=0.9,
                reason="DUPLICATE_PAYLOAD first=T07 gap_s=0")],
    risk_score=0.9, severity=Severity.REVIEW)
RECOUNT = Action(type=ActionType.RECOUNT, params={"locations": ["A-01-1"], "sku": "COLA-500"})
CONFIG = {"configurable": {"thread_id": "INC-RC"}}





def _count(counted: float, system: float = 10.0, **kw: object) -> dict:
    return CountResult(txn_id="CC1", sku=kw.get("sku", "COLA-500"),  # type: ignore[arg-type]
                       location=kw.get("location", "A-01-1"),  # type: ignore[arg-type]
                       counted_qty=counted, system_qty=system).model_dump(mode="json")


def _to_recount(view: WarehouseView, wms: RecordingWms, saver: BaseCheckpointSaver):  # noqa: ANN202
    graph = build_graph(reasoner=OfflineReasoner(), view=view, wms=wms, checkpointer=saver)
    graph.invoke({"ticket_id": "INC-RC", "incident": INCIDENT}, CONFIG, version="v2")
    out = graph.invoke(Command(resume=Decision(decision="edit", approver="sup", action=RECOUNT,
                                               action_digest=action_digest(RECOUNT))
                               .model_dump(mode="json")), CONFIG, version="v2")
    return out


@pytest.mark.parametrize(("counted", "expected"), [
    (7.0, Action(type=ActionType.ADJUST_INVENTORY, params={
        "sku": "COLA-500", "location": "A-01-1", "qty_delta": -3.0,
        "reason_code": "COUNT_CORRECTION"})),
    (10.0, Action(type=ActionType.NO_ACTION)),
])
def test_recount_pauses_blind_then_the_count_proposes_the_follow_up(
        view: WarehouseView, make_saver, counted: float, expected: Action) -> None:  # noqa: ANN001
    wms = RecordingWms()
    out = _to_recount(view, wms, make_saver())
    pause = out.interrupts[0].value
    assert pause["awaiting"] == "count" and pause["locations"] == ["A-01-1"]
    assert not any("expected" in k or "system" in k for k in pause)  # a blind count
    assert [a.type for a in wms.applied.values()] == [ActionType.RECOUNT]

    # a restarted service: a fresh graph over the same checkpoints
    graph = build_graph(reasoner=OfflineReasoner(), view=view, wms=wms,
                        checkpointer=make_saver())
    wrong = graph.invoke(Command(resume=_count(7, location="B-09-9")), CONFIG, version="v2")
    assert "does not answer" in wrong.interrupts[0].value["error"]
    out = graph.invoke(Command(resume=_count(counted)), CONFIG, version="v2")
    ticket = Ticket.model_validate(out.interrupts[0].value["ticket"])
    assert ticket.status == "PENDING_APPROVAL" and ticket.action == expected
    count_ref = next(e.id for e in ticket.evidence if e.source == "CYCLE_COUNT CC1 (blind)")
    # what the page tells the approver to do is the follow-up, not the recount or the cause's
    # first remedy
    todo = ticket.explanation.split("What to do:", 1)[1]
    assert f"[{count_ref}]" in todo and "recount" not in todo and "interface" not in todo
    assert ("no variance" in todo) is (expected.type is ActionType.NO_ACTION)
    assert ("correct the balance of COLA-500 at A-01-1" in todo) is (
        expected.type is ActionType.ADJUST_INVENTORY)
    assert len(wms.applied) == 1  # the follow-up waits for approval

    done = graph.invoke(Command(resume=Decision(decision="approve", approver="sup2",
                                                action_digest=action_digest(expected))
                                .model_dump(mode="json")), CONFIG, version="v2")
    assert done.value.status == "WRITTEN_BACK"
    assert [a.type for a in wms.applied.values()] == [ActionType.RECOUNT, expected.type]
