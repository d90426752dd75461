"""Limits on what will be written, not on what was proposed: an edit is priced as the SKU,
quantity and type it names, must fit the case (the policy's check), and needs the role and
the approvers of its own value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from actions.wms_rest import RestWmsAdapter
from api.app import create_app
from api.tickets import save_ticket
from sim.wms.app import create_sim_app
from tests.api_fixtures import adjust, auth, make_ticket, make_users, open_store
from warehouse.contract import Action
from warehouse.settings import get_settings
from warehouse.store import Store

CHEAP, DEAR = 0.42, 648.10
USERS = (("sup1", "supervisor"), ("sup2", "supervisor"), ("ctl1", "controller"),
         ("ctl2", "controller"))


@pytest.fixture
def world(tmp_path: object) -> Iterator[tuple[TestClient, TestClient, Store, dict]]:
    store = open_store(tmp_path)
    with store.engine.begin() as conn:
        for sku, cost in (("CHEAP-1", CHEAP), ("GOLD-9", DEAR)):
            conn.execute(text("INSERT INTO items (sku, description, case_qty, unit_cost) "
                              "VALUES (:s, :s, 1, :c)"), {"s": sku, "c": cost})
    wms = TestClient(create_sim_app())
    wms.put("/v1/items", json=[{"sku": s, "unit_cost": c} for s, c in
                               (("CHEAP-1", CHEAP), ("GOLD-9", DEAR))]).raise_for_status()
    wms.put("/v1/inventory", json=[{"sku": s, "location": "P-1", "qty": 1000}
                                   for s in ("CHEAP-1", "GOLD-9")]).raise_for_status()
    app = create_app(get_settings(), store=store, wms=RestWmsAdapter(client=wms, attempts=1))
    with TestClient(app) as client:
        users = {n: auth(t) for n, t in make_users(store.engine, *USERS).items()}
        # the case's transactions: a pick of the cheap SKU and a count of the dear one at P-1
        posted = client.post("/v1/transactions", headers=users["sup1"], json=[
            {"txn_id": "T1a", "ts": "2024-05-01T08:00:00+00:00", "type": "PICK",
             "sku": "CHEAP-1", "qty": 3, "location": "P-1", "user_id": "u1"},
            {"txn_id": "T1b", "ts": "2024-05-01T09:00:00+00:00", "type": "CYCLE_COUNT",
             "sku": "GOLD-9", "qty": 10, "location": "P-1", "user_id": "u1"}])
        assert posted.status_code == 201, posted.text
        with Session(store.engine) as s:
            save_ticket(s, ticket=make_ticket(1, sku="CHEAP-1", location="P-1",
                                              action=adjust("CHEAP-1", "P-1", -4)),
                        unit_cost=CHEAP)
        yield client, wms, store, users


def edit(client: TestClient, users: dict, who: str, action: Action) -> object:
    return client.post("/v1/tickets/TK1/decision", headers=users[who],
                       json={"decision": "edit", "action": action.model_dump(mode="json")})


def approve(client: TestClient, users: dict, who: str) -> object:
    digest = client.get("/v1/tickets/TK1", headers=users[who]).json()["action_digest"]
    return client.post("/v1/tickets/TK1/decision", headers=users[who],
                       json={"decision": "approve", "action_digest": digest})


def test_edit_to_a_dear_sku_needs_the_dear_skus_role_and_two_approvers(world: tuple) -> None:
    client, wms, _, users = world
    assert edit(client, users, "sup1", adjust("GOLD-9", "P-1", -300)).status_code == 200
    # 300 x 648.10 = 194,430: not the ticket's cheap SKU's 126
    alone = approve(client, users, "sup2")
    assert alone.status_code == 403 and "194430.00" in alone.text, alone.text
    first = approve(client, users, "ctl1")
    assert first.status_code == 200 and first.json()["approvals_needed"] == 2
    assert first.json()["ticket"]["status"] == "PENDING_APPROVAL"
    assert wms.get("/v1/actions").json() == []
    second = approve(client, users, "ctl2")
    assert second.json()["ticket"]["status"] == "WRITTEN_BACK", second.text
    assert [a["action_type"] for a in wms.get("/v1/actions").json()] == ["ADJUST_INVENTORY"]


def test_edit_that_changes_type_is_priced_as_the_new_type(world: tuple) -> None:
    client, wms, store, users = world
    with Session(store.engine) as s:
        save_ticket(s, ticket=make_ticket(2, sku="CHEAP-1", location="P-1", txn_ids=["T1a"],
                                          action=Action(type="RECOUNT", params={
                                              "locations": ["P-1"], "sku": "CHEAP-1"})),
                    unit_cost=CHEAP)
    change = adjust("CHEAP-1", "P-1", -2000)  # 2,000 x 0.42 = 840 > a supervisor's 500
    answer = client.post("/v1/tickets/TK2/decision", headers=users["sup1"], json={
        "decision": "edit", "action": change.model_dump(mode="json")})
    assert answer.status_code == 200, answer.text
    digest = client.get("/v1/tickets/TK2", headers=users["sup2"]).json()["action_digest"]
    refused = client.post("/v1/tickets/TK2/decision", headers=users["sup2"],
                          json={"decision": "approve", "action_digest": digest})
    assert refused.status_code == 403 and "controller" in refused.text
    assert wms.get("/v1/actions").json() == []


@pytest.mark.parametrize(("action", "words"), [
    (adjust("LOOKALIKE-7", "P-1", -1), "sku LOOKALIKE-7 is not part of this case"),
    (adjust("CHEAP-1", "Z-99", -1), "location Z-99 is not part of this case"),
    (Action(type="CORRECT_MASTER_DATA", params={"sku": "CHEAP-1", "field": "case_qty",
                                                "new": 6}), "does not fit root cause SHRINKAGE"),
], ids=["other-sku", "other-location", "other-type"])
def test_edit_that_does_not_fit_the_case_is_refused(world: tuple, action: Action,
                                                    words: str) -> None:
    client, _, _, users = world
    answer = edit(client, users, "sup1", action)
    assert answer.status_code == 422 and words in answer.text, answer.text
    ticket = client.get("/v1/tickets/TK1", headers=users["sup1"]).json()
    assert ticket["edited_by"] is None and [h["kind"] for h in ticket["history"]] == ["CREATED"]
