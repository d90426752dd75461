"""The reference WMS: applies contract actions once per key, validates, injects faults."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sim.wms.app import create_sim_app
from sim.wms.faults import FaultInjector, FaultMode, FaultPlan
from warehouse.contract import Action, ActionType


@pytest.fixture
def wms() -> TestClient:
    client = TestClient(create_sim_app())
    client.put(
        "/v1/items",
        json=[
            {"sku": "A1", "description": "widget", "case_qty": 12, "unit_weight_kg": 0.5},
            {"sku": "B2", "description": "gadget", "case_qty": 6, "home_location": "P-01"},
        ],
    ).raise_for_status()
    client.put(
        "/v1/inventory",
        json=[{"sku": "A1", "location": "P-01", "qty": 40}, {"sku": "B2", "location": "P-01",
                                                             "qty": 9}],
    ).raise_for_status()
    return client


def post(client: TestClient, action: dict, key: str) -> object:
    return client.post("/v1/actions", json=action, headers={"Idempotency-Key": key})


def balance(client: TestClient, sku: str, location: str) -> float:
    rows = client.get("/v1/inventory", params={"sku": sku, "location": location}).json()
    return rows[0]["qty"] if rows else 0.0


ADJUST = {
    "type": "ADJUST_INVENTORY",
    "params": {"sku": "A1", "location": "P-01", "qty_delta": -3, "reason_code": "LOST"},
}


def test_adjust_applies_once_per_key(wms: TestClient) -> None:
    first = post(wms, ADJUST, "ticket-1:abc")
    assert first.status_code == 200 and first.json()["status"] == "APPLIED"
    again = post(wms, ADJUST, "ticket-1:abc")
    assert again.json()["status"] == "ALREADY_APPLIED"
    assert again.json()["wms_reference"] == first.json()["wms_reference"]
    assert balance(wms, "A1", "P-01") == 37
    other = post(wms, ADJUST, "ticket-2:abc")
    assert other.json()["status"] == "APPLIED"
    assert balance(wms, "A1", "P-01") == 34
    assert len(wms.get("/v1/actions").json()) == 2


def test_key_reused_for_another_action_is_a_conflict(wms: TestClient) -> None:
    post(wms, ADJUST, "ticket-1:abc")
    changed = {**ADJUST, "params": {**ADJUST["params"], "qty_delta": -30}}
    answer = post(wms, changed, "ticket-1:abc")
    assert answer.status_code == 409
    assert "different action" in answer.json()["detail"]
    assert balance(wms, "A1", "P-01") == 37


@pytest.mark.parametrize(
    ("action", "status", "words"),
    [
        ({"type": "ADJUST_INVENTORY", "params": {"sku": "A1", "location": "P-01"}}, 422,
         "qty_delta"),
        ({"type": "TELEPORT", "params": {}}, 422, "type"),
        ({"type": "RESLOT", "params": {"sku": "ZZ", "from_location": "P-01",
                                       "to_location": "P-02"}}, 422, "unknown sku"),
        ({"type": "CORRECT_MASTER_DATA", "params": {"sku": "A1", "field": "case_qty", "old": 24,
                                                    "new": 6}}, 409, "is 12.0, not 24"),
    ],
    ids=["missing-param", "unknown-type", "unknown-sku", "stale-old-value"],
)
def test_bad_actions_are_refused_and_change_nothing(
    wms: TestClient, action: dict, status: int, words: str
) -> None:
    answer = post(wms, action, "ticket-9:bad")
    assert answer.status_code == status
    assert words in str(answer.json()["detail"])
    assert wms.get("/v1/actions").json() == []
    assert wms.get("/v1/items/A1").json()["case_qty"] == 12


def test_missing_idempotency_key_is_refused(wms: TestClient) -> None:
    assert wms.post("/v1/actions", json=ADJUST).status_code == 422
    assert balance(wms, "A1", "P-01") == 40


def test_each_action_type_has_its_effect(wms: TestClient) -> None:
    actions = [
        ("CORRECT_MASTER_DATA", {"sku": "A1", "field": "case_qty", "old": 12, "new": 24}),
        ("RESLOT", {"sku": "B2", "from_location": "P-01", "to_location": "P-07"}),
        ("RECOUNT", {"locations": ["P-01", "P-02"], "sku": "A1"}),
        ("VOID_DUPLICATE", {"txn_id": "T-55"}),
        ("SUPPLIER_CLAIM", {"ref": "PO-1", "sku": "A1", "qty_delta": -12}),
        ("INVESTIGATE", {"user_id": "u7"}),
        ("QUALITY_HOLD", {"sku": "A1", "location": "P-01"}),
        ("NO_ACTION", {}),
    ]
    for i, (kind, params) in enumerate(actions):
        answer = post(wms, {"type": kind, "params": params}, f"ticket-{i}:key")
        assert answer.json()["status"] == "APPLIED", (kind, answer.json())
    assert wms.get("/v1/items/A1").json()["case_qty"] == 24
    assert wms.get("/v1/items/B2").json()["home_location"] == "P-07"
    assert (balance(wms, "B2", "P-01"), balance(wms, "B2", "P-07")) == (0, 9)
    orders = wms.get("/v1/work-orders").json()
    assert [o["kind"] for o in orders] == [
        "RECOUNT", "RECOUNT", "VOID_DUPLICATE", "SUPPLIER_CLAIM", "INVESTIGATE", "QUALITY_HOLD",
    ]
    assert {o["location"] for o in orders if o["kind"] == "RECOUNT"} == {"P-01", "P-02"}
    assert len(wms.get("/v1/actions").json()) == len(actions)


def test_bearer_token_is_enforced() -> None:
    client = TestClient(create_sim_app(api_key="s3cret"))
    assert client.get("/v1/inventory").status_code == 401
    ok = client.get("/v1/inventory", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_fault_draws_are_deterministic_and_near_the_rate() -> None:
    plan = FaultPlan(fail_rate=0.5, seed=7)
    draws = [FaultInjector(plan).draw() for _ in range(1)]
    one, two = FaultInjector(plan), FaultInjector(plan)
    seq_one = [one.draw() for _ in range(400)]
    assert seq_one == [two.draw() for _ in range(400)]
    failed = sum(d is not None for d in seq_one)
    assert 160 <= failed <= 240
    assert {d for d in seq_one if d} == set(FaultMode)
    assert draws[0] == seq_one[0]
    assert all(FaultInjector(FaultPlan(fail_rate=0.0)).draw() is None for _ in range(50))


def test_injected_error_applies_nothing_and_lost_applies(wms: TestClient) -> None:
    wms.app.state.faults = FaultInjector(FaultPlan(fail_rate=1.0, modes=[FaultMode.ERROR]))
    assert post(wms, ADJUST, "ticket-1:abc").status_code == 503
    assert balance(wms, "A1", "P-01") == 40
    wms.app.state.faults = FaultInjector(FaultPlan(fail_rate=1.0, modes=[FaultMode.LOST]))
    assert post(wms, ADJUST, "ticket-1:abc").status_code == 500
    assert balance(wms, "A1", "P-01") == 37
    wms.app.state.faults = FaultInjector(FaultPlan())
    assert post(wms, ADJUST, "ticket-1:abc").json()["status"] == "ALREADY_APPLIED"
    assert balance(wms, "A1", "P-01") == 37


def test_action_model_matches_contract_types() -> None:
    assert {a.value for a in ActionType} == {
        "RECOUNT", "ADJUST_INVENTORY", "CORRECT_MASTER_DATA", "RESLOT", "VOID_DUPLICATE",
        "SUPPLIER_CLAIM", "INVESTIGATE", "QUALITY_HOLD", "NO_ACTION",
    }
    assert Action(type="RECOUNT", params={"locations": ["X"]}).type is ActionType.RECOUNT
