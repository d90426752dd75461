"""GET /v1/tickets and GET /v1/tickets/{id}: queue order, filters, paging, detail, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.app import create_app
from api.tickets import save_ticket
from tests.api_fixtures import auth, make_ticket, open_store, role_users
from warehouse.settings import get_settings
from warehouse.store import Store

NOW = datetime.now(UTC)


@pytest.fixture
def store(tmp_path: object) -> Store:
    return open_store(tmp_path)


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings(), store=store)) as c:
        yield c


@pytest.fixture
def viewer(client: TestClient, store: Store) -> dict[str, str]:
    return auth(role_users(store.engine)["viewer"])


@pytest.fixture
def queue(client: TestClient, store: Store) -> None:
    """Five tickets of mixed severity, cause, risk and age."""
    rows = [
        (1, "INFO", "LEGITIMATE", 0.2, 1, "NO_ACTION"),
        (2, "STOP", "SHRINKAGE", 0.6, 30, "PENDING_APPROVAL"),
        (3, "REVIEW", "MIS_SCAN", 0.9, 5, "PENDING_APPROVAL"),
        (4, "STOP", "RECEIVING_ERROR", 0.95, 50, "PENDING_APPROVAL"),
        (5, "REVIEW", "SHRINKAGE", 0.4, 100, "REJECTED"),
    ]
    with Session(store.engine) as s:
        for i, severity, cause, risk, hours, status in rows:
            save_ticket(s, ticket=make_ticket(i, severity=severity, root_cause=cause,
                                              risk_score=risk, status=status,
                                              sku="SKU-X" if i in (2, 5) else f"SKU-{i}"),
                        created_at=(NOW - timedelta(hours=hours)).isoformat())


def ids(answer: object) -> list[str]:
    return [t["ticket_id"] for t in answer.json()["items"]]  # type: ignore[attr-defined]


def test_queue_lists_stop_first_then_riskiest(client: TestClient, viewer: dict, queue: None
                                              ) -> None:
    answer = client.get("/v1/tickets", headers=viewer)
    assert answer.status_code == 200, answer.text
    assert ids(answer) == ["TK4", "TK2", "TK3", "TK5", "TK1"]
    assert answer.json()["total"] == 5
    first = answer.json()["items"][0]
    assert first["severity"] == "STOP" and first["action_type"] == "INVESTIGATE"
    assert 49 * 3600 < first["age_s"] < 51 * 3600


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "PENDING_APPROVAL"}, ["TK4", "TK2", "TK3"]),
        ({"status": ["REJECTED", "NO_ACTION"]}, ["TK5", "TK1"]),
        ({"severity": "STOP"}, ["TK4", "TK2"]),
        ({"root_cause": "SHRINKAGE"}, ["TK2", "TK5"]),
        ({"sku": "SKU-X"}, ["TK2", "TK5"]),
        ({"location": "P-3"}, ["TK3"]),
        ({"min_age_h": 24}, ["TK4", "TK2", "TK5"]),
        ({"max_age_h": 24}, ["TK3", "TK1"]),
        ({"min_age_h": 24, "max_age_h": 60, "severity": "STOP"}, ["TK4", "TK2"]),
        ({"sort": "risk"}, ["TK4", "TK3", "TK2", "TK5", "TK1"]),
        ({"sort": "newest"}, ["TK1", "TK3", "TK2", "TK4", "TK5"]),
        ({"sort": "oldest", "limit": 2, "offset": 1}, ["TK4", "TK2"]),
        ({"sku": "nothing-here"}, []),
    ],
)
def test_filters_sorts_and_pages(client: TestClient, viewer: dict, queue: None,
                                 params: dict, expected: list[str]) -> None:
    answer = client.get("/v1/tickets", params=params, headers=viewer)
    assert answer.status_code == 200, answer.text
    assert ids(answer) == expected


def test_total_counts_all_matches_not_the_page(client: TestClient, viewer: dict, queue: None
                                               ) -> None:
    body = client.get("/v1/tickets", params={"limit": 1}, headers=viewer).json()
    assert body["total"] == 5 and len(body["items"]) == 1 and body["limit"] == 1


def test_detail_has_explanation_evidence_action_history(client: TestClient, viewer: dict,
                                                        queue: None) -> None:
    answer = client.get("/v1/tickets/TK2", headers=viewer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["explanation"].startswith("Three negative adjustments")
    assert [e["id"] for e in body["evidence"]] == ["E1", "E2", "E3"]
    assert body["action"] == {"type": "INVESTIGATE",
                              "params": {"sku": "SKU-2", "location": "P-2"}}
    assert body["proposed_action"] == body["action"] and len(body["action_digest"]) == 64
    assert [h["kind"] for h in body["history"]] == ["CREATED"]
    assert body["approvals"] == [] and body["write_back"]["status"] is None
    assert body["txn_ids"] == ["T2a", "T2b"]


def test_saving_a_ticket_twice_keeps_the_first(client: TestClient, store: Store,
                                               viewer: dict) -> None:
    with Session(store.engine) as s:
        save_ticket(s, ticket=make_ticket(7, summary="first"))
        save_ticket(s, ticket=make_ticket(7, summary="second"))
    body = client.get("/v1/tickets", headers=viewer).json()
    assert [t["summary"] for t in body["items"]] == ["first"]


@pytest.mark.parametrize(
    "params",
    [{"status": "DONE"}, {"severity": "HIGH"}, {"root_cause": "ALIENS"}, {"limit": 0},
     {"limit": 501}, {"offset": -1}, {"min_age_h": -2}, {"sort": "random"},
     {"limit": "ten"}],
)
def test_bad_query_is_422_naming_the_field(client: TestClient, viewer: dict,
                                           params: dict) -> None:
    answer = client.get("/v1/tickets", params=params, headers=viewer)
    assert answer.status_code == 422, answer.text
    assert next(iter(params)) in answer.json()["detail"]


def test_unknown_ticket_is_404(client: TestClient, viewer: dict) -> None:
    answer = client.get("/v1/tickets/NOPE", headers=viewer)
    assert answer.status_code == 404 and "NOPE" in answer.json()["detail"]


def test_reading_needs_a_key(client: TestClient, queue: None) -> None:
    assert client.get("/v1/tickets").status_code == 401
    assert client.get("/v1/tickets/TK1").status_code == 401
