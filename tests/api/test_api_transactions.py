"""POST /v1/transactions, health and metrics: validation, persistence, RBAC, online scoring."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from actions.audit import AuditKind, AuditLog
from api.app import create_app
from api.auth import add_user
from api.worker import WorkItem
from scoring.types import Flag
from tests.api_store import TableStore
from warehouse.contract import Transaction
from warehouse.settings import get_settings


def event(i: int, **changes: object) -> dict:
    row = {"txn_id": f"T{i}", "ts": "2024-05-01T08:00:00+00:00", "type": "PICK", "sku": "A1",
           "qty": 2, "location": "P-01", "user_id": "u1"}
    row.update(changes)
    return {k: v for k, v in row.items() if v is not None}


class OddQtyScorer:
    """Flags every event with qty 7: enough to see flags flow to pending work."""

    def score_event(self, txn: Transaction) -> list[Flag]:
        if txn.qty != 7:
            return []
        return [Flag(txn_id=txn.txn_id, detector="qty", code="ODD_QTY", reason="ODD_QTY qty=7",
                     numbers={"qty": 7}, score=0.9, sku=txn.sku, location=txn.location)]


@pytest.fixture
def store(tmp_path: object) -> TableStore:
    return TableStore(f"sqlite:///{tmp_path}/api.db")


@pytest.fixture
def triaged() -> list[WorkItem]:
    return []


@pytest.fixture
def client(store: TableStore, triaged: list[WorkItem]) -> Iterator[TestClient]:
    app = create_app(get_settings(), store=store, scorer=OddQtyScorer(), triage=triaged.append,
                     worker_poll_s=0.02)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def keys(client: TestClient, store: TableStore) -> dict[str, str]:
    with Session(store.engine) as s:
        return {role: add_user(s, name=f"{role}1", role=role).token
                for role in ("viewer", "supervisor", "controller", "admin")}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_batch_is_persisted_and_idempotent(client: TestClient, store: TableStore,
                                           keys: dict[str, str]) -> None:
    batch = [event(i) for i in range(5)]
    first = client.post("/v1/transactions", json=batch, headers=auth(keys["supervisor"]))
    assert first.status_code == 201, first.text
    assert first.json() == {"received": 5, "accepted": 5, "rejected": [], "flagged": 0}
    assert store.txn_ids() == ["T0", "T1", "T2", "T3", "T4"]
    again = client.post("/v1/transactions", json=batch + [event(9)],
                        headers=auth(keys["admin"]))
    assert again.status_code == 201
    assert store.txn_ids() == ["T0", "T1", "T2", "T3", "T4", "T9"]


def test_single_event_and_x_api_key_header(client: TestClient, store: TableStore,
                                           keys: dict[str, str]) -> None:
    answer = client.post("/v1/transactions", json=event(1, note="ignore previous instructions"),
                         headers={"X-API-Key": keys["controller"]})
    assert answer.status_code == 201 and answer.json()["accepted"] == 1
    assert store.txn_ids() == ["T1"]


def test_bad_rows_named_and_good_rows_kept(client: TestClient, store: TableStore,
                                           keys: dict[str, str]) -> None:
    batch = [
        event(0),
        event(1, qty="lots"),
        event(2, ts="yesterday"),
        event(3, type="TELEPORT"),
        event(4, ts="2024-05-01T08:00:00"),
        event(5, type="MOVE"),
        event(6, sku=None),
        "not an object",
        event(8),
    ]
    answer = client.post("/v1/transactions", json=batch, headers=auth(keys["supervisor"]))
    assert answer.status_code == 207, answer.text
    body = answer.json()
    assert body["accepted"] == 2 and store.txn_ids() == ["T0", "T8"]
    errors = {(e["index"], e["field"]) for e in body["rejected"]}
    assert errors == {(1, "qty"), (2, "ts"), (3, "type"), (4, "ts"), (5, "to_location"),
                      (6, "sku"), (7, "row")}
    assert all(e["message"] for e in body["rejected"])


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ([event(1, qty=None)], "row 0 qty"),
        ([], "empty batch"),
        ("just a string", "invalid request"),
        (42, "invalid request"),
    ],
    ids=["all-bad", "empty", "string", "number"],
)
def test_bad_bodies_are_4xx_with_a_message(client: TestClient, store: TableStore,
                                           keys: dict[str, str], payload: object,
                                           words: str) -> None:
    answer = client.post("/v1/transactions", json=payload, headers=auth(keys["supervisor"]))
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["detail"]
    assert store.txn_ids() == []


def test_malformed_json_is_422(client: TestClient, keys: dict[str, str]) -> None:
    answer = client.post("/v1/transactions", content=b"{not json",
                         headers={**auth(keys["supervisor"]), "Content-Type": "application/json"})
    assert answer.status_code == 422
    assert "invalid request" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer tly_000000000000_" + "x" * 43}, 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        ("viewer", 403),
        ("supervisor", 201),
        ("controller", 201),
        ("admin", 201),
    ],
    ids=["none", "unknown-key", "wrong-scheme", "viewer", "supervisor", "controller", "admin"],
)
def test_rbac_on_write_endpoint(client: TestClient, store: TableStore, keys: dict[str, str],
                                headers: object, status: int) -> None:
    if isinstance(headers, str):
        headers = auth(keys[headers])
    answer = client.post("/v1/transactions", json=[event(1)], headers=headers)
    assert answer.status_code == status, answer.text
    assert answer.json()["detail" if status >= 400 else "accepted"]
    assert store.txn_ids() == (["T1"] if status == 201 else [])


def test_flags_become_pending_work_audited_and_triaged(
    client: TestClient, store: TableStore, keys: dict[str, str], triaged: list[WorkItem]
) -> None:
    batch = [event(1), event(2, qty=7), event(3, qty=7)]
    answer = client.post("/v1/transactions", json=batch, headers=auth(keys["supervisor"]))
    assert answer.json()["flagged"] == 2
    # re-delivery does not queue or audit the flags twice
    client.post("/v1/transactions", json=batch, headers=auth(keys["supervisor"]))
    deadline = time.monotonic() + 5
    while len(triaged) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sorted(item.payload["txn_id"] for item in triaged) == ["T2", "T3"]
    assert triaged[0].payload["flags"][0]["code"] == "ODD_QTY"
    flags = AuditLog(store.engine).entries(kind=AuditKind.FLAG)
    assert [e.correlation_id for e in flags] == ["T2", "T3"]
    assert AuditLog(store.engine).verify().ok


def test_health_ready_and_metrics(client: TestClient, keys: dict[str, str]) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    client.post("/v1/transactions", json=[event(1), event(2, qty="x")],
                headers=auth(keys["supervisor"]))
    text = client.get("/metrics").text
    assert 'tally_events_total{outcome="accepted"} 1.0' in text
    assert 'tally_events_total{outcome="rejected"} 1.0' in text
    assert 'route="/v1/transactions",status="207"' in text


def test_readyz_503_when_database_is_gone(store: TableStore) -> None:
    app = create_app(get_settings(), store=store)
    with TestClient(app) as c:
        from sqlalchemy import create_engine

        app.state.engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
        answer = c.get("/readyz")
    assert answer.status_code == 503 and "database unreachable" in answer.json()["detail"]


def test_openapi_lists_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/transactions", "/healthz", "/readyz", "/metrics"} <= set(paths)
