"""The service's write-back goes through the graph when a thread waits, and a graph that
asks for approval again has refused: the write-back fails, nothing is written directly."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlmodel import Session

from actions.wms_recording import RecordingWms
from agents.checkpoints import memory_checkpointer
from agents.graph import build_graph
from agents.reasoners import OfflineReasoner
from api.app import create_app
from api.tickets import save_ticket
from scoring.types import Flag, Incident
from tests.api_fixtures import auth, make_ticket, make_users, open_store
from tests.crafted_warehouse import crafted
from tools.view import WarehouseView
from warehouse.contract import Action, Severity
from warehouse.settings import get_settings

DUPLICATE = Incident(
    incident_id="INC-DUP", txn_ids=["T07", "T08"], sku="COLA-500", location="A-01-1",
    flags=[Flag(txn_id="T08", detector="duplicate", code="DUPLICATE_PAYLOAD", score=0.9,
                reason="DUPLICATE_PAYLOAD first=T07 gap_s=0")],
    risk_score=0.9, severity=Severity.REVIEW)


def test_a_graph_that_asks_again_refuses_and_nothing_is_written(tmp_path: object) -> None:
    store = open_store(tmp_path)
    wms = RecordingWms()
    graph = build_graph(reasoner=OfflineReasoner(), view=WarehouseView(crafted()), wms=wms,
                        checkpointer=memory_checkpointer())
    config = {"configurable": {"thread_id": "INC-DUP"}}
    graph.invoke({"ticket_id": "INC-DUP", "incident": DUPLICATE}, config, version="v2")
    assert graph.get_state(config).next == ("await_approval",)  # drafted: void T08
    # the stored ticket says another action than the graph drafted (as if changed behind it)
    with Session(store.engine) as s:
        save_ticket(s, ticket=make_ticket(1, ticket_id="INC-DUP", root_cause="SYSTEM_SYNC",
                                          action=Action(type="VOID_DUPLICATE",
                                                        params={"txn_id": "T07"})))
    app = create_app(get_settings(), store=store, wms=wms, graph_factory=lambda _: graph)
    with TestClient(app) as client:
        headers = auth(make_users(store.engine, ("sup1", "supervisor"))["sup1"])
        digest = client.get("/v1/tickets/INC-DUP", headers=headers).json()["action_digest"]
        answer = client.post("/v1/tickets/INC-DUP/decision", headers=headers,
                             json={"decision": "approve", "action_digest": digest})
    assert answer.status_code == 200, answer.text
    ticket = answer.json()["ticket"]
    assert ticket["status"] == "WRITE_BACK_FAILED"
    assert "refused by the graph" in ticket["write_back"]["detail"]
    assert wms.applied == {}  # no direct write behind the graph's back
    assert graph.get_state(config).next == ("await_approval",)
