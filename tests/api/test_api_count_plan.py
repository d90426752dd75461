"""GET /v1/count-plan and POST /v1/count-plan/approve: roles, validation, one audited decision
for the batch, each blind RECOUNT task landing in the reference WMS exactly once."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from actions.audit import AuditLog
from actions.outbox import Outbox
from actions.wms_rest import RestWmsAdapter
from api.app import create_app
from api.writeback import WriteBackRunner
from sim.generator import GeneratorConfig, generate
from sim.wms.app import create_sim_app
from sim.wms.faults import FaultMode, FaultPlan
from tests.api_fixtures import auth, make_users, open_store
from warehouse.settings import get_settings
from warehouse.store import Store
from warehouse.writer import write_dataset

TOP = 6


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cp")
    write_dataset(generate(GeneratorConfig(seed=41, days=10, skus=120)), folder)
    return folder


@pytest.fixture
def store(tmp_path: Path, dataset: Path) -> Store:
    s = open_store(tmp_path)
    s.ingest(dataset)
    return s


def _client(store: Store, wms: TestClient) -> Iterator[TestClient]:
    adapter = RestWmsAdapter(client=wms, attempts=1)
    with TestClient(create_app(get_settings(), store=store, wms=adapter)) as c:
        yield c


@pytest.fixture
def wms() -> TestClient:
    return TestClient(create_sim_app())


@pytest.fixture
def client(store: Store, wms: TestClient) -> Iterator[TestClient]:
    yield from _client(store, wms)


@pytest.fixture
def users(client: TestClient, store: Store) -> dict[str, dict[str, str]]:
    tokens = make_users(store.engine, ("vera", "viewer"), ("sam", "supervisor"))
    return {name: auth(token) for name, token in tokens.items()}


def _recounts(wms: TestClient) -> list[dict]:
    return wms.get("/v1/work-orders", params={"kind": "RECOUNT"}).json()


def _audit(store: Store, kind: str) -> list[dict]:
    with store.engine.connect() as conn:
        rows = conn.execute(text("SELECT payload FROM audit_log WHERE kind = :k ORDER BY seq"),
                            {"k": kind}).scalars().all()
    return [json.loads(r) for r in rows if "count_plan" in json.loads(r)]


def test_plan_needs_a_supervisor_and_valid_params(client: TestClient, users: dict) -> None:
    assert client.get("/v1/count-plan").status_code == 401
    assert client.get("/v1/count-plan", headers=users["vera"]).status_code == 403
    for bad in ("0", "1001", "many"):
        r = client.get("/v1/count-plan", params={"top": bad}, headers=users["sam"])
        assert r.status_code == 422, bad
    r = client.get("/v1/count-plan", params={"top": TOP}, headers=users["sam"])
    assert r.status_code == 200
    body = r.json()
    assert len(body["lines"]) == TOP and len(body["plan_digest"]) == 64
    assert [x["rank"] for x in body["lines"]] == list(range(1, TOP + 1))
    values = [x["expected_error_value"] for x in body["lines"]]
    assert values == sorted(values, reverse=True)
    assert all(0 <= x["score"] <= 1 and x["reasons"] for x in body["lines"])
    assert client.get("/v1/count-plan", params={"top": TOP},
                      headers=users["sam"]).json() == body  # same store, same plan


def test_approve_validates_and_binds_to_the_reviewed_plan(client: TestClient, users: dict,
                                                          wms: TestClient) -> None:
    url = "/v1/count-plan/approve"
    assert client.post(url, json={"top": TOP, "plan_digest": "0" * 64}).status_code == 401
    assert client.post(url, json={"top": TOP, "plan_digest": "0" * 64},
                       headers=users["vera"]).status_code == 403
    for bad in ({"top": TOP}, {"top": 0, "plan_digest": "0" * 64},
                {"top": TOP, "plan_digest": "xyz"}, [1, 2]):
        assert client.post(url, json=bad, headers=users["sam"]).status_code == 422, bad
    stale = client.post(url, json={"top": TOP, "plan_digest": "0" * 64}, headers=users["sam"])
    assert stale.status_code == 409 and "changed since it was reviewed" in stale.text
    assert _recounts(wms) == []


def test_one_approval_writes_each_task_once(client: TestClient, users: dict, store: Store,
                                           wms: TestClient) -> None:
    plan = client.get("/v1/count-plan", params={"top": TOP}, headers=users["sam"]).json()
    body = {"top": TOP, "plan_digest": plan["plan_digest"], "comment": "today's counts"}
    r = client.post("/v1/count-plan/approve", json=body, headers=users["sam"])
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["approved_by"] == "sam" and len(out["tasks"]) == TOP
    assert {t["status"] for t in out["tasks"]} == {"WRITTEN_BACK"}
    orders = _recounts(wms)
    assert len(orders) == TOP
    assert [o["location"] for o in orders] == [x["location"] for x in plan["lines"]]
    assert all(json.loads(o["details"])["blind"] is True for o in orders)
    assert len({o["idempotency_key"] for o in orders}) == TOP
    decisions = _audit(store, "DECISION")
    assert len(decisions) == 1 and decisions[0]["tasks"] == TOP
    assert decisions[0]["approver"] == "sam" and decisions[0]["plan_digest"] == body["plan_digest"]
    assert len(_audit(store, "WRITE_BACK")) == TOP
    # approving the same plan again decides nothing new and writes nothing twice
    again = client.post("/v1/count-plan/approve", json=body, headers=users["sam"]).json()
    assert again["plan_id"] == out["plan_id"]
    assert len(_recounts(wms)) == TOP and len(_audit(store, "DECISION")) == 1
    assert len(_audit(store, "WRITE_BACK")) == TOP


def _approve_until_written(client: TestClient, body: dict, headers: dict) -> None:
    """Approve the plan again (each round retries the failed tasks) until all are written."""
    for _ in range(10):
        tasks = client.post("/v1/count-plan/approve", json=body, headers=headers).json()["tasks"]
        if all(t["status"] == "WRITTEN_BACK" for t in tasks):
            break
    assert all(t["status"] == "WRITTEN_BACK" for t in tasks)


def test_failed_tasks_retry_under_their_key_and_land_once(store: Store) -> None:
    faulty = TestClient(create_sim_app(faults=FaultPlan(
        fail_rate=0.5, modes=[FaultMode.ERROR, FaultMode.LOST], seed=3)))
    for client in _client(store, faulty):
        sam = auth(make_users(store.engine, ("sam", "supervisor"))["sam"])
        plan = client.get("/v1/count-plan", params={"top": TOP}, headers=sam).json()
        body = {"top": TOP, "plan_digest": plan["plan_digest"]}
        first = client.post("/v1/count-plan/approve", json=body, headers=sam).json()
        failed = [t for t in first["tasks"] if t["status"] != "WRITTEN_BACK"]
        assert failed, "the seeded faults should fail some write calls"
        _approve_until_written(client, body, sam)
    orders = _recounts(faulty)
    assert len(orders) == TOP  # lost answers were retried under the same key: no duplicates
    assert sorted(o["location"] for o in orders) == sorted(x["location"] for x in plan["lines"])
    assert len(_audit(store, "DECISION")) == 1


def test_tasks_go_through_the_outbox_and_land_once_across_a_restart(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """The approving process dies after the commit, before any write; the WMS fails half
    its calls (lost answers among them). The restarted service's write-back worker takes the
    rows over, the failed tasks retry in the next round, and each task lands once."""
    faulty = TestClient(create_sim_app(faults=FaultPlan(
        fail_rate=0.5, modes=[FaultMode.ERROR, FaultMode.LOST], seed=3)))
    sam = auth(make_users(store.engine, ("sam", "supervisor"))["sam"])
    with monkeypatch.context() as dead:
        dead.setattr(WriteBackRunner, "run", lambda self, item_id: False)  # killed here
        for client in _client(store, faulty):
            plan = client.get("/v1/count-plan", params={"top": TOP}, headers=sam).json()
            body = {"top": TOP, "plan_digest": plan["plan_digest"]}
            first = client.post("/v1/count-plan/approve", json=body, headers=sam).json()
    assert {t["status"] for t in first["tasks"]} == {"PENDING"} and _recounts(faulty) == []
    assert Outbox(store.engine).counts() == {"RUNNING": TOP}  # committed with the approval

    monkeypatch.setattr("actions.outbox.OWNER", "restarted:1:cafe")  # a new process
    for client in _client(store, faulty):
        deadline = time.monotonic() + 30
        while Outbox(store.engine).counts() != {"DONE": TOP} and time.monotonic() < deadline:
            time.sleep(0.1)
        assert Outbox(store.engine).counts() == {"DONE": TOP}  # the worker took them over
        _approve_until_written(client, body, sam)
    orders = _recounts(faulty)
    assert sorted(o["location"] for o in orders) == sorted(x["location"] for x in plan["lines"])
    assert len({o["idempotency_key"] for o in orders}) == TOP  # no task landed twice
    writes = _audit(store, "WRITE_BACK")
    assert len(writes) > TOP, "the seeded faults should fail some write calls"
    assert {w["status"] for w in writes} >= {"FAILED", "APPLIED"}
    assert len(_audit(store, "DECISION")) == 1 and AuditLog(store.engine).verify().ok


def test_empty_store_is_a_clear_422(tmp_path: Path, wms: TestClient) -> None:
    empty = open_store(tmp_path)
    for client in _client(empty, wms):
        sam = auth(make_users(empty.engine, ("sam", "supervisor"))["sam"])
        r = client.get("/v1/count-plan", headers=sam)
        assert r.status_code == 422 and "no transactions" in r.text


def test_counts_that_come_back_are_set_against_the_plan(client: TestClient, users: dict,
                                                        store: Store) -> None:
    plan = client.get("/v1/count-plan", params={"top": TOP}, headers=users["sam"]).json()
    body = {"top": TOP, "plan_digest": plan["plan_digest"]}
    plan_id = client.post("/v1/count-plan/approve", json=body, headers=users["sam"]).json()[
        "plan_id"]
    url = f"/v1/count-plan/{plan_id}/outcomes"
    before = client.get(url, headers=users["vera"]).json()
    assert before["tasks"] == TOP and before["counted"] == 0 and before["brier"] is None
    balances = store.balances().set_index(["sku", "location"])["qty"]
    first, second = plan["lines"][0], plan["lines"][1]
    sku1 = first["sku"] or balances.xs(first["location"], level="location").index[0]
    sku2 = second["sku"] or balances.xs(second["location"], level="location").index[0]
    system1 = float(balances.get((sku1, first["location"]), 0.0))
    system2 = float(balances.get((sku2, second["location"]), 0.0))
    counts = [  # one count that agrees (shows the system qty), one blind count that does not
        {"txn_id": "RC-1", "ts": "2030-01-02T08:00:00+00:00", "type": "CYCLE_COUNT",
         "sku": sku1, "qty": system1, "expected_qty": system1, "location": first["location"],
         "user_id": "counter"},
        {"txn_id": "RC-2", "ts": "2030-01-02T08:05:00+00:00", "type": "CYCLE_COUNT",
         "sku": sku2, "qty": system2 + 3, "location": second["location"], "user_id": "counter"},
    ]
    assert client.post("/v1/transactions", json=counts, headers=users["sam"]).status_code == 201
    after = client.get(url, headers=users["vera"]).json()
    assert after["counted"] == 2
    found = {o["rank"]: o for o in after["outcomes"] if o["wrong"] is not None}
    assert found[1]["wrong"] is False and found[1]["variance"] == 0
    assert found[2]["wrong"] is True and found[2]["variance"] == 3
    scores = [first["score"], second["score"]]
    assert after["predicted_wrong"] == pytest.approx(sum(scores) / 2)
    assert after["brier"] == pytest.approx((scores[0] ** 2 + (scores[1] - 1) ** 2) / 2)
    cost = store.items().set_index("sku").at[sku2, "unit_cost"]
    assert after["money_found"] == pytest.approx(3 * cost, abs=0.01)
    assert client.get("/v1/count-plan/CP-nope/outcomes",
                      headers=users["vera"]).status_code == 404
    assert client.get(url).status_code == 401
