"""The triage graph: interrupt, resume approve / reject / edit, one write-back, grounding."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.types import Command

from actions.decision import Decision
from actions.wms_recording import RecordingWms
from agents.case import CaseFile, Classification, Explanation
from agents.checkpoints import memory_checkpointer
from agents.graph import build_graph
from agents.grounding import explanation_issues, repair_explanation
from agents.pipeline import triage
from agents.reasoners import OfflineReasoner
from scoring.types import Flag, Incident
from tests.crafted_warehouse import crafted
from tools.view import WarehouseView
from warehouse.canonical import action_digest, write_back_key
from warehouse.contract import Action, ActionType, EvidenceItem, RootCause, Severity, Ticket

DUPLICATE = Incident(
    incident_id="INC-DUP", txn_ids=["T07", "T08"], sku="COLA-500", location="A-01-1",
    flags=[Flag(txn_id="T08", detector="duplicate", code="DUPLICATE_PAYLOAD", score=0.9,
                reason="DUPLICATE_PAYLOAD first=T07 gap_s=0")],
    risk_score=0.9, severity=Severity.REVIEW)
DUPLICATE_DRAFT = Action(type=ActionType.VOID_DUPLICATE, params={"txn_id": "T08"})
WRITEOFFS = Incident(
    incident_id="INC-ADJ", txn_ids=["T12", "T13"], sku="WATCH-9", location="CAGE-1",
    flags=[], risk_score=0.7, severity=Severity.REVIEW)





def start(graph, incident: Incident):  # noqa: ANN001, ANN201 - compiled graph, GraphOutput
    config = {"configurable": {"thread_id": incident.incident_id}}
    return graph.invoke({"ticket_id": incident.incident_id, "incident": incident}, config,
                        version="v2"), config


def test_approve_writes_back_exactly_once(view: WarehouseView, make_saver) -> None:  # noqa: ANN001
    wms = RecordingWms()
    graph = build_graph(reasoner=OfflineReasoner(), view=view, wms=wms, checkpointer=make_saver())
    out, config = start(graph, DUPLICATE)

    pending = out.interrupts[0].value
    ticket = Ticket.model_validate(pending["ticket"])
    assert ticket.status == "PENDING_APPROVAL" and ticket.root_cause is RootCause.SYSTEM_SYNC
    assert ticket.action == Action(type=ActionType.VOID_DUPLICATE, params={"txn_id": "T08"})
    assert wms.applied == {}  # nothing written before a decision

    # resume on a freshly compiled graph over the same checkpoints (a restarted service)
    graph = build_graph(reasoner=OfflineReasoner(), view=view, wms=wms, checkpointer=make_saver())
    unbound = graph.invoke(Command(resume=Decision(decision="approve", approver="sup")
                                   .model_dump(mode="json")), config, version="v2")
    assert unbound.interrupts and "digest" in unbound.interrupts[0].value["error"]
    assert wms.applied == {}  # an approval bound to no digest writes nothing
    done = graph.invoke(Command(resume=Decision(
        decision="approve", approver="sup", action_digest=pending["action_digest"]
    ).model_dump(mode="json")), config, version="v2")

    assert done.interrupts == ()
    assert done.value.status == "WRITTEN_BACK" and done.value.ticket.status == "WRITTEN_BACK"
    assert list(wms.applied) == [write_back_key("INC-DUP", ticket.action)]


def test_reject_writes_nothing(view: WarehouseView, make_saver) -> None:  # noqa: ANN001
    wms = RecordingWms()
    graph = build_graph(reasoner=OfflineReasoner(), view=view, wms=wms, checkpointer=make_saver())
    _, config = start(graph, DUPLICATE)
    done = graph.invoke(Command(resume={"decision": "reject", "approver": "sup",
                                        "comment": "known re-delivery"}), config, version="v2")
    assert done.value.status == "REJECTED" and wms.applied == {}
    assert done.value.ticket.decision["comment"] == "known re-delivery"


def test_edit_writes_the_edited_action_and_invalid_edit_waits_again(view: WarehouseView) -> None:
    wms = RecordingWms()
    graph = build_graph(reasoner=OfflineReasoner(), view=view, wms=wms,
                        checkpointer=memory_checkpointer())
    _, config = start(graph, DUPLICATE)
    bad = Action(type=ActionType.ADJUST_INVENTORY, params={"sku": "COLA-500", "qty_delta": 4})
    again = graph.invoke(Command(resume={"decision": "edit", "approver": "sup",
                                         "action": bad.model_dump(mode="json")}),
                         config, version="v2")
    assert again.interrupts and "location" in again.interrupts[0].value["error"]
    assert wms.applied == {}

    edited = Action(type=ActionType.VOID_DUPLICATE, params={"txn_id": "T07"})
    stale = graph.invoke(Command(resume=Decision(
        decision="edit", approver="sup", action=edited,
        action_digest=action_digest(DUPLICATE_DRAFT)).model_dump(mode="json")),
        config, version="v2")
    assert stale.interrupts and wms.applied == {}  # bound to another payload: waits again
    done = graph.invoke(Command(resume=Decision(
        decision="edit", approver="sup", action=edited, action_digest=action_digest(edited)
    ).model_dump(mode="json")), config, version="v2")
    assert done.value.status == "WRITTEN_BACK"
    assert list(wms.applied.values()) == [edited]


def test_write_back_is_idempotent_on_ticket_and_payload(view: WarehouseView,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "writes.jsonl"
    action = Action(type=ActionType.VOID_DUPLICATE, params={"txn_id": "T08"})
    key = write_back_key("INC-DUP", action)
    assert RecordingWms(path).apply(action, idempotency_key=key).status == "APPLIED"
    again = RecordingWms(path).apply(action, idempotency_key=key)  # after a restart
    assert again.status == "ALREADY_APPLIED" and len(path.read_text().splitlines()) == 1


def test_no_action_ends_without_approval(view: WarehouseView) -> None:
    class Benign(OfflineReasoner):
        def classify(self, case: CaseFile) -> Classification:
            return Classification(root_cause=RootCause.LEGITIMATE, confidence=0.9,
                                  rationale="planned relocation")

    wms = RecordingWms()
    graph = build_graph(reasoner=Benign(), view=view, wms=wms, checkpointer=memory_checkpointer())
    out, _ = start(graph, DUPLICATE)
    assert out.interrupts == () and out.value.status == "NO_ACTION"
    assert out.value.ticket.action.type is ActionType.NO_ACTION
    assert out.value.ticket.severity is Severity.INFO and wms.applied == {}


def test_injected_instructions_in_notes_change_nothing(view: WarehouseView) -> None:
    clean = crafted()
    clean.transactions["note"] = None
    with_notes = triage([WRITEOFFS], view, OfflineReasoner())[0]
    without = triage([WRITEOFFS], WarehouseView(clean), OfflineReasoner())[0]
    assert with_notes.status == "PENDING_APPROVAL"  # no approval was granted by the note
    assert (with_notes.root_cause, with_notes.action) == (without.root_cause, without.action)
    assert with_notes.action.type is not ActionType.NO_ACTION
    assert "IGNORE" not in with_notes.explanation + " ".join(e.fact for e in with_notes.evidence)


def test_evidence_has_ids_and_sources(view: WarehouseView) -> None:
    ticket = triage([DUPLICATE], view, OfflineReasoner())[0]
    assert [e.id for e in ticket.evidence] == [f"E{i}" for i in range(1, len(ticket.evidence) + 1)]
    sources = {e.source for e in ticket.evidence}
    assert {"scorer:duplicate", "transactions", "item_master", "duplicate_candidates"} <= sources
    assert not explanation_issues(Explanation(summary=ticket.summary,
                                              explanation=ticket.explanation), ticket.evidence)


EVIDENCE = [
    EvidenceItem(id="E1", fact="Receipt T01 of COLA-500 under ASN-1: received 48 EA, ASN expected "
                 "60 (difference -12 EA)", source="receipt_vs_asn"),
    EvidenceItem(id="E2", fact="Item master of COLA-500: unit weight 0.553 kg", source="item"),
]


@pytest.mark.parametrize("text, problem", [
    ("Received 48 EA against 60 on the ASN [E1].", None),
    ("Short by 12 EA; unit weight about 0.55 kg [E2].", None),  # sign and rounding are fine
    ("At A-01-1 on 2025-03-03T08:00:00Z, COLA-500 was short [E1].", None),  # ids, times
    ("Received 48 EA against 64 on the ASN [E1].", "number 64"),
    ("The supplier shorted 1,200 EA.", "number 1200"),
    ("Received 48 EA [E7].", "cites E7"),
])
def test_grounding_rejects_invented_numbers_and_citations(text: str, problem: str | None) -> None:
    issues = explanation_issues(Explanation(summary="Receiving error", explanation=text),
                                EVIDENCE)
    assert (issues == []) if problem is None else any(problem in i for i in issues)


def test_grounding_repair_drops_invented_sentences() -> None:
    text = Explanation(summary="Receiving error at COLA-500",
                       explanation="Received 48 EA against 60 [E1]. Probably 75 EA were stolen.",
                       cited_evidence=["E1", "E9"])
    fixed = repair_explanation(text, EVIDENCE)
    assert fixed is not None and fixed.explanation == "Received 48 EA against 60 [E1]."
    assert fixed.cited_evidence == ["E1"]


def test_ungrounded_explanation_is_repaired_then_replaced(view: WarehouseView) -> None:
    class Inventive(OfflineReasoner):
        name = "inventive"

        def explain(self, case: CaseFile, classification: Classification,
                    action: Action) -> Explanation:
            return Explanation(summary="Duplicate worth 9999 dollars",
                               explanation="About 9999 dollars went missing [E99].")

    ticket = triage([DUPLICATE], view, Inventive())[0]
    assert "9999" not in ticket.summary + ticket.explanation
    assert ticket.explanation == triage([DUPLICATE], view, OfflineReasoner())[0].explanation
    assert any(g.startswith("explanation: repaired") for g in ticket.grounding)
