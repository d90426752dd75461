"""Tickets paused in the real triage graph survive a server restart: decisions made on a new
app instance resume the SQLite-checkpointed threads, and the graph writes back exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from actions.wms_rest import RestWmsAdapter
from agents.graph import build_graph
from agents.reasoners.offline import OfflineReasoner
from agents.state import TicketState
from api.app import create_app
from api.triage import open_ticket
from sim.generator import GeneratorConfig, generate
from sim.wms.app import create_sim_app
from tests.api_fixtures import auth, labelled_incidents, make_users, open_store
from tools.view import WarehouseView
from warehouse.dataset import Dataset
from warehouse.settings import get_settings
from warehouse.store import Store


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate(GeneratorConfig(seed=3, days=7, skus=150))


@pytest.fixture
def wms(dataset: Dataset) -> TestClient:
    sim = TestClient(create_sim_app())
    items = dataset.items[["sku", "case_qty", "unit_weight_kg", "unit_cost"]]
    sim.put("/v1/items", json=items.astype(object).where(items.notna(), None)
            .to_dict("records")).raise_for_status()
    return sim


def thread_state(graph: object, thread: str) -> TicketState:
    return TicketState.model_validate(
        graph.get_state({"configurable": {"thread_id": thread}}).values)  # type: ignore[attr-defined]


@contextmanager
def server(store: Store, wms: TestClient, view: WarehouseView) -> Iterator[FastAPI]:
    """One server process: its own graph and checkpointer connection over the data dir."""
    adapter = RestWmsAdapter(client=wms, attempts=1)
    app = create_app(get_settings(), store=store, wms=adapter, graph_factory=lambda cp:
                     build_graph(reasoner=OfflineReasoner(), view=view, wms=adapter,
                                 checkpointer=cp))
    with TestClient(app) as client:
        app.state.client = client
        yield app


def test_pending_approvals_resume_after_restart(dataset: Dataset, wms: TestClient,
                                                tmp_path: object) -> None:
    store = open_store(tmp_path)
    view = WarehouseView(dataset)
    with server(store, wms, view) as first:
        tokens = make_users(store.engine, ("sup1", "supervisor"), ("sup2", "supervisor"),
                            ("ctl1", "controller"))
        users = {n: auth(t) for n, t in tokens.items()}
        with Session(store.engine) as s:
            opened = [open_ticket(first.state.graph, s, incident=inc, audit=first.state.audit
                                  ).model_copy() for inc in labelled_incidents(dataset, 12)]
        pending = [r for r in opened if r.status == "PENDING_APPROVAL"]
        first_recount = next(r for r in pending if r.action["type"] == "RECOUNT")
        others = [r for r in pending if r is not first_recount]
        assert len(others) >= 2
        # triaging the same incident again neither re-runs the graph nor duplicates the ticket
        with Session(store.engine) as s:
            again = open_ticket(first.state.graph, s, incident=labelled_incidents(dataset, 1)[0],
                                audit=first.state.audit)
        assert again.ticket_id == opened[0].ticket_id
    recount, remeasure, void = (r.ticket_id for r in (first_recount, *others[:2]))

    with server(store, wms, view) as second:  # a new process: nothing in memory survives
        client, graph = second.state.client, second.state.graph
        for tid in (recount, remeasure, void):
            assert graph.get_state({"configurable": {"thread_id": tid}}).next == (
                "await_approval",)
        ticket = client.get(f"/v1/tickets/{recount}", headers=users["sup1"]).json()
        answer = client.post(f"/v1/tickets/{recount}/decision", headers=users["sup1"],
                             json={"decision": "approve",
                                   "action_digest": ticket["action_digest"]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["ticket"]["status"] == "AWAITING_COUNT"  # a blind count task
        snapshot = graph.get_state({"configurable": {"thread_id": recount}})
        state = TicketState.model_validate(snapshot.values)
        assert snapshot.next == ("await_count",) and state.status == "AWAITING_COUNT"
        assert state.write_back.idempotency_key == \
            answer.json()["ticket"]["write_back"]["idempotency_key"]
        assert state.decision.approver == "sup1"

        # an edit in the service resumes the graph as an edit: the graph writes the edited one
        # (an edit must fit the case: a type the root cause does not allow is refused)
        misfit = client.post(f"/v1/tickets/{remeasure}/decision", headers=users["sup2"], json={
            "decision": "edit", "action": {"type": "INVESTIGATE", "params": {"sku": "X"}}})
        assert misfit.status_code == 422 and "does not fit" in misfit.text
        edited_action = {"type": "ADJUST_INVENTORY", "params": {
            "sku": others[0].sku, "location": others[0].location, "qty_delta": -1,
            "reason_code": "COUNT_CORRECTION"}}
        client.post(f"/v1/tickets/{remeasure}/decision", headers=users["sup2"], json={
            "decision": "edit", "action": edited_action}).raise_for_status()
        digest = client.get(f"/v1/tickets/{remeasure}", headers=users["ctl1"]).json()[
            "action_digest"]
        done = client.post(f"/v1/tickets/{remeasure}/decision", headers=users["ctl1"],
                           json={"decision": "approve", "action_digest": digest})
        assert done.json()["ticket"]["status"] == "WRITTEN_BACK", done.text
        state = thread_state(graph, remeasure)
        assert state.decision.decision == "edit"
        assert state.action.model_dump(mode="json") == edited_action

        rejected = client.post(f"/v1/tickets/{void}/decision", headers=users["sup1"],
                               json={"decision": "reject", "reason": "known resend"})
        assert rejected.json()["ticket"]["status"] == "REJECTED"
        state = thread_state(graph, void)
        assert state.status == "REJECTED" and state.write_back is None
        assert state.decision.reason == "known resend"

    with server(store, wms, view) as third:  # restarted while the recount waits for its count
        client = third.state.client
        waiting = client.get("/v1/recounts", headers=users["sup1"]).json()
        assert [w["ticket_id"] for w in waiting] == [recount]
        location = waiting[0]["locations"][0]
        bad = client.post(f"/v1/recounts/{recount}/count", headers=users["sup1"],
                          json={"location": location, "counted_qty": -1})
        assert bad.status_code == 422
        # the UI's count form: blind (no system quantity on the page), then the follow-up
        login = client.post("/ui/login", data={"api_key": tokens["sup1"], "next": "/ui/"},
                            follow_redirects=False)
        assert login.status_code == 303
        page = client.get("/ui/recounts")
        assert page.status_code == 200 and f"/ui/recounts/{recount}/count" in page.text
        assert "system" not in page.text.split("<h1>", 1)[1].split("blind.", 1)[1].lower()
        posted = client.post(f"/ui/recounts/{recount}/count",
                             data={"location": location, "counted_qty": "0"},
                             follow_redirects=False)
        assert posted.status_code == 303, posted.text
        assert posted.headers["location"] == f"/ui/tickets/{recount}"
        assert client.get("/ui/learning").status_code == 200
        follow = client.get(f"/v1/tickets/{recount}", headers=users["sup1"]).json()
        assert follow["status"] == "PENDING_APPROVAL"
        assert follow["action"]["type"] in ("ADJUST_INVENTORY", "NO_ACTION",
                                            "CORRECT_MASTER_DATA")
        assert any(e["source"].startswith("CYCLE_COUNT CNT-") for e in follow["evidence"])
        done = client.post(f"/v1/tickets/{recount}/decision", headers=users["sup2"],
                           json={"decision": "approve",
                                 "action_digest": follow["action_digest"]})
        assert done.json()["ticket"]["status"] == "WRITTEN_BACK", done.text
        assert client.get("/v1/recounts", headers=users["sup1"]).json() == []

    applied = wms.get("/v1/actions").json()
    assert sorted(a["action_type"] for a in applied) == sorted(
        ["RECOUNT", "ADJUST_INVENTORY", follow["action"]["type"]])
    assert len({a["idempotency_key"] for a in applied}) == 3
