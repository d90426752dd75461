"""POST /v1/tickets/{id}/decision and /write-back: RBAC, digest binding, dual approval, the
reference WMS applying each approved action exactly once, audit records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from actions.audit import AuditKind, AuditLog
from actions.wms_rest import RestWmsAdapter
from api.app import create_app
from api.tickets import save_ticket
from sim.wms.app import create_sim_app
from tests.api_fixtures import adjust, auth, make_ticket, make_users, open_store
from warehouse.contract import Action
from warehouse.settings import get_settings
from warehouse.store import Store

USERS = (("viewer1", "viewer"), ("sup1", "supervisor"), ("sup2", "supervisor"),
         ("ctl1", "controller"), ("ctl2", "controller"), ("admin1", "admin"))
COST = 40.0  # per each: 5 eaches = 200 (supervisor), 20 = 800 (controller), 200 = 8000 (dual)


@pytest.fixture
def wms() -> TestClient:
    sim = TestClient(create_sim_app())
    sim.put("/v1/items", json=[{"sku": f"SKU-{i}", "case_qty": 1, "unit_cost": COST}
                               for i in range(10)]).raise_for_status()
    sim.put("/v1/inventory", json=[{"sku": f"SKU-{i}", "location": f"P-{i}", "qty": 100}
                                   for i in range(10)]).raise_for_status()
    return sim


@pytest.fixture
def store(tmp_path: object) -> Store:
    return open_store(tmp_path)


@pytest.fixture
def client(store: Store, wms: TestClient) -> Iterator[TestClient]:
    adapter = RestWmsAdapter(client=wms, attempts=1)
    with TestClient(create_app(get_settings(), store=store, wms=adapter)) as c:
        yield c


@pytest.fixture
def users(client: TestClient, store: Store) -> dict[str, dict[str, str]]:
    return {name: auth(token) for name, token in make_users(store.engine, *USERS).items()}


def put_ticket(store: Store, i: int, action: Action, unit_cost: float | None = COST) -> str:
    with Session(store.engine) as s:
        save_ticket(s, ticket=make_ticket(i, action=action), unit_cost=unit_cost)
    return f"TK{i}"


def digest(client: TestClient, ticket_id: str, headers: dict) -> str:
    return client.get(f"/v1/tickets/{ticket_id}", headers=headers).json()["action_digest"]


def approve(client: TestClient, ticket_id: str, headers: dict, **extra: object) -> object:
    body = {"decision": "approve", "action_digest": digest(client, ticket_id, headers), **extra}
    return client.post(f"/v1/tickets/{ticket_id}/decision", json=body, headers=headers)


def balance(wms: TestClient, sku: str, location: str) -> float:
    return wms.get("/v1/inventory", params={"sku": sku, "location": location}).json()[0]["qty"]


ACTIONS = {
    "investigate": (Action(type="INVESTIGATE", params={"sku": "SKU-1"}), COST),
    "adjust-small": (adjust("SKU-1", "P-1", -5), COST),
    "adjust-large": (adjust("SKU-1", "P-1", -20), COST),
    "adjust-no-cost": (adjust("SKU-1", "P-1", -1), None),
    "master-data": (Action(type="CORRECT_MASTER_DATA",
                           params={"sku": "SKU-1", "field": "case_qty", "new": 6}), COST),
}
MATRIX = {  # who may approve what: 200 approved and written back, 403 refused
    "investigate": {"viewer1": 403, "sup1": 200, "ctl1": 200, "admin1": 200},
    "adjust-small": {"viewer1": 403, "sup1": 200, "ctl1": 200, "admin1": 200},
    "adjust-large": {"viewer1": 403, "sup1": 403, "ctl1": 200, "admin1": 200},
    "adjust-no-cost": {"viewer1": 403, "sup1": 403, "ctl1": 200, "admin1": 200},
    "master-data": {"viewer1": 403, "sup1": 403, "ctl1": 200, "admin1": 200},
}


@pytest.mark.parametrize(("kind", "who", "status"),
                         [(k, w, s) for k, row in MATRIX.items() for w, s in row.items()])
def test_rbac_matrix(client: TestClient, store: Store, users: dict, wms: TestClient,
                     kind: str, who: str, status: int) -> None:
    action, cost = ACTIONS[kind]
    tid = put_ticket(store, 1, action, unit_cost=cost)
    answer = approve(client, tid, users[who])
    assert answer.status_code == status, answer.text
    ticket = client.get(f"/v1/tickets/{tid}", headers=users["viewer1"]).json()
    applied = wms.get("/v1/actions").json()
    if status == 200:
        assert ticket["status"] == "WRITTEN_BACK" and len(applied) == 1
        assert applied[0]["idempotency_key"] == ticket["write_back"]["idempotency_key"]
    else:
        assert "needs a" in answer.json()["detail"] or "viewer" in answer.json()["detail"]
        assert ticket["status"] == "PENDING_APPROVAL" and applied == []


def test_approval_writes_back_once_and_is_audited(client: TestClient, store: Store,
                                                 users: dict, wms: TestClient) -> None:
    tid = put_ticket(store, 3, adjust("SKU-3", "P-3", -4))
    answer = approve(client, tid, users["sup1"], comment="counted it myself")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["ticket"]["status"] == "WRITTEN_BACK"
    assert body["ticket"]["write_back"]["status"] == "APPLIED"
    assert body["ticket"]["decided_by"] == "sup1" and body["ticket"]["decided_at"]
    assert [h["kind"] for h in body["ticket"]["history"]] == ["CREATED", "APPROVED",
                                                              "WRITE_BACK"]
    assert balance(wms, "SKU-3", "P-3") == 96
    again = approve(client, tid, users["ctl1"])
    assert again.status_code == 409 and "already been decided" in again.json()["detail"]
    assert balance(wms, "SKU-3", "P-3") == 96 and len(wms.get("/v1/actions").json()) == 1
    audit = AuditLog(store.engine)
    decision = audit.entries(kind=AuditKind.DECISION)
    write = audit.entries(kind=AuditKind.WRITE_BACK)
    assert [e.payload["by"] for e in decision] == ["sup1"]
    assert decision[0].payload["comment"] == "counted it myself"
    assert decision[0].correlation_id == "T3a" and write[0].correlation_id == "T3a"
    assert write[0].payload["status"] == "APPLIED"
    assert audit.verify().ok


def test_approval_is_bound_to_the_digest(client: TestClient, store: Store, users: dict,
                                         wms: TestClient) -> None:
    tid = put_ticket(store, 2, adjust("SKU-2", "P-2", -3))
    reviewed = digest(client, tid, users["sup1"])
    edited = client.post(f"/v1/tickets/{tid}/decision", headers=users["sup2"], json={
        "decision": "edit", "comment": "only 2 missing",
        "action": adjust("SKU-2", "P-2", -2).model_dump(mode="json")})
    assert edited.status_code == 200, edited.text
    assert edited.json()["ticket"]["status"] == "PENDING_APPROVAL"
    assert edited.json()["ticket"]["edited_by"] == "sup2"
    stale = client.post(f"/v1/tickets/{tid}/decision", headers=users["sup1"],
                        json={"decision": "approve", "action_digest": reviewed})
    assert stale.status_code == 409 and "changed since you reviewed" in stale.json()["detail"]
    own = approve(client, tid, users["sup2"])
    assert own.status_code == 403 and "own edit" in own.json()["detail"]
    ok = approve(client, tid, users["sup1"])
    assert ok.status_code == 200, ok.text
    ticket = ok.json()["ticket"]
    assert ticket["status"] == "WRITTEN_BACK"
    assert ticket["action"]["params"]["qty_delta"] == -2
    assert ticket["proposed_action"]["params"]["qty_delta"] == -3
    assert [h["kind"] for h in ticket["history"]] == ["CREATED", "EDITED", "APPROVED",
                                                      "WRITE_BACK"]
    assert balance(wms, "SKU-2", "P-2") == 98


def test_approvals_of_an_earlier_version_do_not_count(client: TestClient, store: Store,
                                                      users: dict, wms: TestClient) -> None:
    tid = put_ticket(store, 4, adjust("SKU-4", "P-4", -200))  # 8000: two approvers
    first = approve(client, tid, users["ctl1"])
    assert first.status_code == 200 and first.json()["approvals_needed"] == 2
    assert first.json()["ticket"]["status"] == "PENDING_APPROVAL"
    client.post(f"/v1/tickets/{tid}/decision", headers=users["admin1"], json={
        "decision": "edit", "action": adjust("SKU-4", "P-4", -150).model_dump(mode="json")}
    ).raise_for_status()
    second = approve(client, tid, users["ctl2"])
    assert second.json()["ticket"]["status"] == "PENDING_APPROVAL"  # ctl1 approved the old one
    third = approve(client, tid, users["ctl1"])
    assert third.json()["ticket"]["status"] == "WRITTEN_BACK"
    assert balance(wms, "SKU-4", "P-4") == -50


def test_dual_approval_needs_two_different_people(client: TestClient, store: Store,
                                                  users: dict, wms: TestClient) -> None:
    tid = put_ticket(store, 5, adjust("SKU-5", "P-5", 200))
    first = approve(client, tid, users["ctl1"])
    assert "1 more approver" in first.json()["message"]
    twice = approve(client, tid, users["ctl1"])
    assert twice.status_code == 409 and "already approved" in twice.json()["detail"]
    weak = approve(client, tid, users["sup1"])
    assert weak.status_code == 403
    assert wms.get("/v1/actions").json() == []
    done = approve(client, tid, users["admin1"])
    assert done.json()["ticket"]["status"] == "WRITTEN_BACK"
    assert [a["approver"] for a in done.json()["ticket"]["approvals"]] == ["ctl1", "admin1"]
    assert balance(wms, "SKU-5", "P-5") == 300


def test_reject_closes_without_write_back(client: TestClient, store: Store, users: dict,
                                          wms: TestClient) -> None:
    tid = put_ticket(store, 6, adjust("SKU-6", "P-6", -1))
    answer = client.post(f"/v1/tickets/{tid}/decision", headers=users["sup1"],
                         json={"decision": "reject", "reason": "found it on the next shelf",
                               "comment": "ask u7"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["ticket"]["status"] == "REJECTED"
    assert answer.json()["ticket"]["decision_reason"] == "found it on the next shelf"
    assert answer.json()["ticket"]["history"][-1]["detail"]["reason"] == \
        "found it on the next shelf"
    assert answer.json()["ticket"]["history"][-1]["detail"]["comment"] == "ask u7"
    assert approve(client, tid, users["ctl1"]).status_code == 409
    assert client.post(f"/v1/tickets/{tid}/write-back", headers=users["ctl1"]).status_code == 409
    assert wms.get("/v1/actions").json() == []


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"decision": "maybe"}, "decision"),
        ({"decision": "approve"}, "action_digest"),
        ({"decision": "approve", "action_digest": "abc"}, "action_digest"),
        ({"decision": "edit"}, "action"),
        ({"decision": "edit", "action": {"type": "ADJUST_INVENTORY", "params": {"sku": "S"}}},
         "location"),
        ({"decision": "edit", "action": {"type": "TELEPORT", "params": {}}}, "action.type"),
        ({"decision": "edit", "action": adjust("SKU-7", "P-7", -1).model_dump(mode="json")},
         "identical"),
        ({"decision": "reject", "reason": "ok", "comment": "x" * 2001}, "comment"),
        ({"decision": "reject", "comment": "no reason given"}, "reason"),
        ({"decision": "reject", "reason": "   "}, "reason"),
        ([], "body"),
    ],
)
def test_bad_decisions_are_422(client: TestClient, store: Store, users: dict,
                               body: object, words: str) -> None:
    tid = put_ticket(store, 7, adjust("SKU-7", "P-7", -1))
    answer = client.post(f"/v1/tickets/{tid}/decision", json=body, headers=users["sup1"])
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["detail"]
    assert client.get(f"/v1/tickets/{tid}", headers=users["sup1"]).json()["status"] == \
        "PENDING_APPROVAL"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e309"])
def test_non_finite_edit_is_refused_not_stored(client: TestClient, store: Store, users: dict,
                                               number: str) -> None:
    tid = put_ticket(store, 7, adjust("SKU-7", "P-7", -1))
    params = ('"sku": "SKU-7", "location": "P-7", "qty_delta": ' + number +
              ', "reason_code": "COUNT_CORRECTION"')
    body = ('{"decision": "edit", "action": {"type": "ADJUST_INVENTORY", "params": {'
            + params + '}}}')
    answer = client.post(f"/v1/tickets/{tid}/decision", content=body,
                         headers={**users["sup1"], "Content-Type": "application/json"})
    assert answer.status_code == 422, answer.text
    assert "finite" in answer.text
    ticket = client.get(f"/v1/tickets/{tid}", headers=users["sup1"]).json()
    assert ticket["action"]["params"]["qty_delta"] == -1 and ticket["edited_by"] is None


def test_unknown_ticket_and_missing_key(client: TestClient, users: dict) -> None:
    body = {"decision": "reject"}
    assert client.post("/v1/tickets/NOPE/decision", json=body,
                       headers=users["sup1"]).status_code == 404
    assert client.post("/v1/tickets/NOPE/decision", json=body).status_code == 401
    viewer = client.post("/v1/tickets/NOPE/decision", json=body, headers=users["viewer1"])
    assert viewer.status_code == 403


def test_without_a_wms_the_approval_waits_as_write_back_failed(
    store: Store, tmp_path: object
) -> None:
    with TestClient(create_app(get_settings(), store=store)) as c:
        headers = {n: auth(t) for n, t in make_users(store.engine, ("sup1", "supervisor")).items()}
        tid = put_ticket(store, 8, Action(type="RECOUNT", params={"locations": ["P-8"]}))
        answer = approve(c, tid, headers["sup1"])
        assert answer.json()["ticket"]["status"] == "WRITE_BACK_FAILED"
        assert "TALLY_WMS_URL" in answer.json()["ticket"]["write_back"]["detail"]
        assert "retry" in answer.json()["message"]


def test_tampering_with_a_decision_record_is_detected(client: TestClient, store: Store,
                                                      users: dict) -> None:
    tid = put_ticket(store, 9, adjust("SKU-9", "P-9", -1))
    approve(client, tid, users["sup1"]).raise_for_status()
    audit = AuditLog(store.engine)
    seq = audit.entries(kind=AuditKind.DECISION)[0].seq
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET payload = replace(payload, 'sup1', 'ctl1') "
                          "WHERE seq = :seq"), {"seq": seq})
    report = audit.verify()
    assert not report.ok and report.problems[0].seq == seq
    assert "edited" in report.problems[0].problem
